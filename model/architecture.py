"""Tiny GoogLeNet: the exact network of the original notebook, with a softmax output.

Input contract: float32 images of shape (N, 28, 28, 1) scaled to [0, 1]
(``dataset.fashion_mnist.to_model_input`` does this). Output: (N, 10) class probabilities.

Layout (1,044,240 parameters, 500 non-trainable, the BatchNormalization statistics):

    stem     Conv 3x3 (16) -> LRN -> ReLU -> Dropout 0.25
    block 1-4, f = 16, 32, 64, 128, two branches from the same input:
             1x1 (f) -> 3x3 (f)     and     1x1 (f) -> 5x5 (f)
             -> Concatenate (2f) -> LRN -> MaxPool 2x2 -> Dropout 0.25 (not after block 4)
    head     Flatten (1024) -> Dense 250 ReLU -> BatchNorm -> Dropout 0.35 -> Dense 10 softmax

Layer names are the single source of truth for everything that addresses a layer
(saliency targets, branch activations, knock-outs); use the helpers below.
"""

import keras
from keras import layers

from .lrn import LocalResponseNormalization

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
BLOCK_FILTERS = (16, 32, 64, 128)
BLOCKS = tuple(range(1, len(BLOCK_FILTERS) + 1))
BRANCHES = ("3x3", "5x5")
MODEL_NAME = "tiny_googlenet"

INPUT = "image"
STEM_CONV = "stem_conv"
STEM_OUTPUT = "stem_relu"  # the stem's output as the blocks see it (dropout is identity at inference)
PENULTIMATE = "head_batchnorm"  # the 250-d features that feed the classifier
PREDICTIONS = "predictions"


def block_layer(block: int, part: str) -> str:
    """Name of a layer of inception block ``block`` (1-4).

    ``part``: '3x3_reduce', '3x3', '5x5_reduce', '5x5', 'concat', 'lrn', 'pool', 'dropout'.
    """
    return f"block{block}_{part}"


def block_output(block: int) -> str:
    """The whole block's output (concatenated branches after LRN): the CAM target layer."""
    return block_layer(block, "lrn")


def branch_layers(block: int, branch: str) -> tuple[str, str]:
    """(1x1 reduction, main convolution) layer names of one branch."""
    if branch not in BRANCHES:
        raise ValueError(f"branch must be one of {BRANCHES}, not {branch!r}")
    return block_layer(block, f"{branch}_reduce"), block_layer(block, branch)


def conv_layers() -> list[str]:
    """The 17 convolutions whose 976 channels the channel atlas describes, in the order data flows:
    the stem, then per block the 3x3 branch's 1x1 reduction and 3x3, the 5x5 branch's reduction and 5x5."""
    names = [STEM_CONV]
    for block in BLOCKS:
        for branch in BRANCHES:
            names.extend(branch_layers(block, branch))
    return names


def inbound_layer_names(layer) -> list[str]:
    """Names of the layers feeding ``layer`` in a functional model (its "Connected to" column)."""
    return [tensor._keras_history.operation.name for node in layer._inbound_nodes for tensor in node.input_tensors]


def inception_block(x, block: int, filters: int, pool_dropout: bool = True):
    """Two parallel branches (1x1 -> 3x3, 1x1 -> 5x5), concatenated, normalised, pooled."""
    reduce_3x3 = layers.Conv2D(filters, 1, padding="same", activation="relu", name=block_layer(block, "3x3_reduce"))(x)
    reduce_5x5 = layers.Conv2D(filters, 1, padding="same", activation="relu", name=block_layer(block, "5x5_reduce"))(x)
    conv_3x3 = layers.Conv2D(filters, 3, padding="same", activation="relu", name=block_layer(block, "3x3"))(reduce_3x3)
    conv_5x5 = layers.Conv2D(filters, 5, padding="same", activation="relu", name=block_layer(block, "5x5"))(reduce_5x5)
    x = layers.Concatenate(name=block_layer(block, "concat"))([conv_3x3, conv_5x5])
    x = LocalResponseNormalization(name=block_output(block))(x)
    x = layers.MaxPooling2D(2, strides=2, padding="same", name=block_layer(block, "pool"))(x)
    if pool_dropout:
        x = layers.Dropout(0.25, name=block_layer(block, "dropout"))(x)
    return x


def build_tiny_googlenet() -> keras.Model:
    """The uncompiled network; see the module docstring for the layout."""
    inputs = keras.Input(shape=INPUT_SHAPE, name=INPUT)
    x = layers.Conv2D(16, 3, padding="same", name=STEM_CONV)(inputs)
    x = LocalResponseNormalization(name="stem_lrn")(x)
    x = layers.Activation("relu", name=STEM_OUTPUT)(x)
    x = layers.Dropout(0.25, name="stem_dropout")(x)
    for block, filters in zip(BLOCKS, BLOCK_FILTERS):
        x = inception_block(x, block, filters, pool_dropout=block != BLOCKS[-1])
    x = layers.Flatten(name="head_flatten")(x)
    x = layers.Dense(250, activation="relu", name="head_dense")(x)
    x = layers.BatchNormalization(name=PENULTIMATE)(x)
    x = layers.Dropout(0.35, name="head_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name=PREDICTIONS)(x)
    return keras.Model(inputs, outputs, name=MODEL_NAME)
