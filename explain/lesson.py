"""What the lesson "How it computes" needs from the model for one image: every layer's output and the
weights and constants of the layers it explains (``analysis.arithmetic`` does the arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.branches import forward


@dataclass(frozen=True)
class Trace:
    outputs: dict  # layer name -> its output for the image, without the batch axis
    weights: dict  # layer name -> [kernel, bias] (Conv2D, Dense) or [gamma, beta, mean, variance] (BatchNorm)
    constants: dict  # layer name -> {depth_radius, bias, alpha, beta} (LRN) or {epsilon} (BatchNorm) or {rate}


def trace(net, model_input: np.ndarray) -> Trace:
    """One forward pass of a (28, 28, 1) model input, keeping every layer's output, plus the weights."""
    outputs = {name: value[0] for name, value in forward(net, np.asarray(model_input)[np.newaxis]).items()}
    weights, constants = {}, {}
    for layer in net.layers:
        if layer.get_weights():
            weights[layer.name] = [np.asarray(w) for w in layer.get_weights()]
        config = layer.get_config()
        if "depth_radius" in config:
            constants[layer.name] = {key: config[key] for key in ("depth_radius", "bias", "alpha", "beta")}
        elif "epsilon" in config:
            constants[layer.name] = {"epsilon": float(config["epsilon"])}
        elif "rate" in config:
            constants[layer.name] = {"rate": float(config["rate"])}
    return Trace(outputs, weights, constants)
