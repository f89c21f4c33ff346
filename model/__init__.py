"""The Tiny GoogLeNet network, its LRN layer and safe loading of saved models.

Importing this package registers the LRN layer with Keras, so
``keras.models.load_model(path, safe_mode=True)`` works afterwards.
"""

from pathlib import Path

import keras

from .architecture import (  # noqa: F401
    BLOCK_FILTERS,
    BLOCKS,
    BRANCHES,
    INPUT_SHAPE,
    PENULTIMATE,
    PREDICTIONS,
    STEM_CONV,
    STEM_OUTPUT,
    block_layer,
    block_output,
    branch_layers,
    build_tiny_googlenet,
    conv_layers,
    inbound_layer_names,
    inception_block,
)
from .lrn import LocalResponseNormalization  # noqa: F401


class ModelFileError(RuntimeError):
    """A model file is missing or cannot be loaded; the message says what to do."""


def load_model(path) -> keras.Model:
    """Load a saved ``.keras`` file in Keras safe mode, with a clear error on failure."""
    from runfolder.runs import restore_advice

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file {path} does not exist. {restore_advice(path.parent)}")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:
        raise ModelFileError(
            f"Model file {path} cannot be loaded ({type(exc).__name__}: {exc}). It is corrupt or not a "
            f"Tiny GoogLeNet model. {restore_advice(path.parent)}"
        ) from exc
