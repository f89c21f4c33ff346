"""TensorFlow-free analysis of a run's stored test-set outputs (for the fast pages)."""
