"""The network's arithmetic, one number at a time, in NumPy (for the lesson "How it computes").

Each function takes the real inputs and weights of one layer and returns every intermediate number a
lesson shows: the patch, the kernel, the products and their sum for one output of a convolution; the
neighbouring channels and the denominator of local response normalisation; the window of a max pool; an
inception block's 3x3 branch from its 1x1 convolution to the pool, each step on the previous one's value;
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
class BranchOutput:
    """One channel of an inception block's 3x3 branch followed at one position, each number feeding the
    next: the 1x1 convolution of the block's input, the 3x3 convolution over the 1x1 outputs (with that
    value at the centre of its patch), the same channel of the concatenation normalised by LRN, and the
    2x2 max-pool window that holds it."""

    reduce: ConvOutput  # the 1x1 convolution (filter ``channel``) of the block's input at (row, col)
    conv: ConvOutput  # the 3x3 convolution (filter ``channel``) of the 1x1 outputs at (row, col)
    lrn: LrnOutput  # channel ``channel`` of the concatenation at (row, col): the 3x3 branch comes first
    window: np.ndarray  # the 2x2 window of LRN outputs of that channel that max pooling reduces
    channel: int
    row: int
    col: int

    @property
    def reduced(self) -> float:
        """The 1x1 output after its ReLU: the centre of the 3x3 patch in channel ``channel``."""
        return max(self.reduce.value, 0.0)

    @property
    def branch_value(self) -> float:
        """The 3x3 output after its ReLU: the concatenation's channel ``channel``, which LRN divides."""
        return max(self.conv.value, 0.0)

    @property
    def pool_position(self) -> tuple[int, int]:
        return self.row // 2, self.col // 2

    @property
    def pooled(self) -> float:
        return float(self.window.max())


def inception_branch(
    block_input: np.ndarray,
    reduce_weights,
    reduce_output: np.ndarray,
    conv_weights,
    concat: np.ndarray,
    lrn_constants: dict,
    lrn_output: np.ndarray,
    channel: int,
    row: int,
    col: int,
) -> BranchOutput:
    """The 3x3 branch of an inception block for one channel at (row, col), computed in the order the block
    runs. Each step takes the value the previous step computed here (not the layer's stored output, which
    agrees with it to float32 precision); the other values it needs (the rest of the 3x3 patch, the
    neighbouring channels, the rest of the pool window) are the layers' outputs for this image."""
    reduce = conv_at(block_input, *reduce_weights, row, col, channel)
    reduced = np.array(reduce_output, dtype=np.float64)
    reduced[row, col, channel] = max(reduce.value, 0.0)
    conv = conv_at(reduced, *conv_weights, row, col, channel)
    values = np.array(concat[row, col], dtype=np.float64)
    values[channel] = max(conv.value, 0.0)
    lrn = lrn_at(values, channel, **lrn_constants)
    window = np.array(pool_window(lrn_output, row // 2, col // 2, channel), dtype=np.float64)
    window[row % 2, col % 2] = lrn.result
    return BranchOutput(reduce, conv, lrn, window, channel, row, col)


def nearest_live_unit(
    reduce_output: np.ndarray, branch_output: np.ndarray, channel: int, near: tuple[int, int]
) -> tuple[int, int] | None:
    """The grid position nearest ``near`` (ties: the first in reading order) where channel ``channel`` is
    positive after both of a block's convolutions, its 1x1 (``reduce_output``) and its 3x3 (``branch_output``),
    so a value followed through the block is not zero from the start; None where there is no such position."""
    alive = (np.asarray(reduce_output)[..., channel] > 0) & (np.asarray(branch_output)[..., channel] > 0)
    rows, cols = np.nonzero(alive)
    if not len(rows):
        return None
    nearest = int(np.argmin((rows - near[0]) ** 2 + (cols - near[1]) ** 2))
    return int(rows[nearest]), int(cols[nearest])


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
