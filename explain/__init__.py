"""Explanations of single predictions: saliency maps, branch activations, knock-outs, deletion curves.

Plain functions over a loaded Keras model and numpy images; no streamlit here.
"""
