"""The network's arithmetic, one number at a time, in NumPy (for the lesson "How it computes").

Each function takes the real inputs and weights of one layer and returns every intermediate number a
lesson shows: the patch, the kernel, the products and their sum for one output of a convolution; the
neighbouring channels and the denominator of local response normalisation; the window of a max pool;
batch normalisation with its stored statistics; logits and softmax. ``tests/test_lesson.py`` checks
them against the Keras layers' outputs. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConvOutput:
    """One output value of a 'same'-padded, stride-1 convolution: sum(patch * kernel) + bias."""

    patch: np.ndarray  # (k, k, input channels): the inputs under the kernel (zeros beyond the border)
    kernel: np.ndarray  # (k, k, input channels): the filter's weights
    bias: float

    @property
    def products(self) -> np.ndarray:
        return self.patch * self.kernel

    @property
    def total(self) -> float:
        return float(self.products.sum())

    @property
    def value(self) -> float:
        return self.total + self.bias


def conv_at(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray, row: int, col: int, filter: int) -> ConvOutput:
    """The output of filter ``filter`` at (row, col) for ``inputs`` (H, W, C_in) and a Keras kernel
    (k, k, C_in, C_out): the patch centred on (row, col), zero-padded at the border."""
    size = kernel.shape[0]
    pad = size // 2
    padded = np.pad(np.asarray(inputs, dtype=np.float64), ((pad, pad), (pad, pad), (0, 0)))
    patch = padded[row : row + size, col : col + size, :]
    return ConvOutput(patch, np.asarray(kernel[..., filter], dtype=np.float64), float(bias[filter]))


@dataclass(frozen=True)
class LrnOutput:
    """value / (bias + alpha * sum of squares of the neighbouring channels) ** beta."""

    value: float
    neighbours: np.ndarray  # channel indices, the channel itself included
    neighbour_values: np.ndarray
    bias: float
    alpha: float
    beta: float

    @property
    def sum_of_squares(self) -> float:
        return float(np.square(self.neighbour_values).sum())

    @property
    def denominator(self) -> float:
        return (self.bias + self.alpha * self.sum_of_squares) ** self.beta

    @property
    def result(self) -> float:
        return self.value / self.denominator


def lrn_at(values: np.ndarray, channel: int, depth_radius: int, bias: float, alpha: float, beta: float) -> LrnOutput:
    """Local response normalisation of channel ``channel`` of the vector ``values`` (all channels at one
    position), as ``tf.nn.local_response_normalization`` computes it (neighbours cut at the ends)."""
    values = np.asarray(values, dtype=np.float64)
    neighbours = np.arange(max(0, channel - depth_radius), min(len(values), channel + depth_radius + 1))
    return LrnOutput(float(values[channel]), neighbours, values[neighbours], bias, alpha, beta)


def pool_window(inputs: np.ndarray, row: int, col: int, channel: int, size: int = 2) -> np.ndarray:
    """The size x size window of one channel that max pooling (stride = size, 'same' padding) reduces
    to output (row, col); cells beyond the border (odd sizes) are left out, as padding never wins."""
    return np.asarray(inputs[row * size : row * size + size, col * size : col * size + size, channel])


@dataclass(frozen=True)
class BatchNormOutput:
    """gamma * (x - moving mean) / sqrt(moving variance + epsilon) + beta, per feature."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    epsilon: float

    @property
    def result(self) -> np.ndarray:
        return self.gamma * (self.x - self.mean) / np.sqrt(self.variance + self.epsilon) + self.beta


def batch_norm(x, gamma, beta, mean, variance, epsilon: float) -> BatchNormOutput:
    as64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    return BatchNormOutput(as64(x), as64(gamma), as64(beta), as64(mean), as64(variance), float(epsilon))


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x @ kernel + bias (a Keras Dense layer before its activation)."""
    return np.asarray(x, dtype=np.float64) @ np.asarray(kernel, dtype=np.float64) + np.asarray(bias, dtype=np.float64)


@dataclass(frozen=True)
class SoftmaxOutput:
    logits: np.ndarray

    @property
    def shifted(self) -> np.ndarray:
        """Logits less their maximum: the same probabilities, without overflowing exp."""
        return self.logits - self.logits.max()

    @property
    def exponentials(self) -> np.ndarray:
        return np.exp(self.shifted)

    @property
    def probabilities(self) -> np.ndarray:
        return self.exponentials / self.exponentials.sum()


def softmax(logits: np.ndarray) -> SoftmaxOutput:
    return SoftmaxOutput(np.asarray(logits, dtype=np.float64))
