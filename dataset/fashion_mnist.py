"""Fashion-MNIST: the ten class names and a loader for the official IDX files.

This module needs only numpy, so the dashboard can import it without TensorFlow.

Sources, tried in this order:

1. the folder named by the environment variable ``FASHION_MNIST_DIR``;
2. the Keras cache, ``$KERAS_HOME/datasets/fashion-mnist`` (``~/.keras`` when
   ``KERAS_HOME`` is unset);
3. a download of the official files into that cache (needs internet).

Every file is checked against the official MD5 sum and its IDX header before it
is used; any problem raises :class:`DataError`, whose message names the file and
says how to fix it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
# Three letters each, where ten columns must fit a phone (the confusion matrix's headings); no two alike.
CLASS_ABBREVIATIONS: tuple[str, ...] = ("Top", "Tro", "Pul", "Dre", "Coa", "San", "Shi", "Sne", "Bag", "Ank")
IMAGE_SHAPE = (28, 28)

ENV_DIR = "FASHION_MNIST_DIR"
DOWNLOAD_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# File name -> official MD5 (Zalando's README).
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SPLIT_SIZES = {"train": 60_000, "test": 10_000}

# IDX magic numbers: 0x00000801 = unsigned bytes, 1 dimension (labels);
# 0x00000803 = unsigned bytes, 3 dimensions (images).
_IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}

FIX_HINT = (
    "Point the environment variable FASHION_MNIST_DIR at a folder holding the four "
    "official files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), or delete the broken "
    "file and run again on a machine with internet to download it."
)


class DataError(RuntimeError):
    """Fashion-MNIST could not be loaded; the message says which file and what to do."""


@dataclass(frozen=True)
class Split:
    """One split of the data set: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray
    source: Path

    def __len__(self) -> int:
        return len(self.labels)


def keras_cache_dir() -> Path:
    """The folder Keras uses for this data set, honouring KERAS_HOME."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(keras_home) / "datasets" / "fashion-mnist"


def file_digest(path: Path, algorithm: str = "md5") -> str:
    """The hex digest of a file, read in 1 MB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    return file_digest(path, "md5")


def find_data_dir(split: str = "test", download: bool = True) -> Path:
    """The folder to read ``split`` from, downloading into the Keras cache if needed."""
    names = SPLIT_FILES[_check_split(split)]
    env_value = os.environ.get(ENV_DIR)
    if env_value:
        folder = Path(env_value).expanduser()
        if not folder.is_dir():
            raise DataError(
                f"{ENV_DIR} is set to {folder}, which is not a folder. "
                f"Set it to the folder that holds the Fashion-MNIST files, or unset it "
                f"to use the Keras cache ({keras_cache_dir()})."
            )
        return folder
    cache = keras_cache_dir()
    if all((cache / name).is_file() for name in names):
        return cache
    if not download:
        raise DataError(f"Fashion-MNIST is not in {cache} and downloading is off. {FIX_HINT}")
    return _download(names, cache)


def _download(names, cache: Path) -> Path:
    # keras is imported only here: the dashboard never downloads, and importing
    # it costs seconds.
    try:
        from keras.utils import get_file
    except ImportError as exc:  # pragma: no cover - keras is a requirement
        raise DataError(f"Cannot download Fashion-MNIST without keras installed. {FIX_HINT}") from exc
    for name in names:
        if (cache / name).is_file():
            continue
        try:
            get_file(
                fname=name,
                origin=DOWNLOAD_BASE_URL + name,
                cache_dir=str(cache.parent.parent),
                cache_subdir=str(Path("datasets") / "fashion-mnist"),
                file_hash=OFFICIAL_MD5[name],
            )
        except Exception as exc:
            raise DataError(
                f"Could not download {name} from {DOWNLOAD_BASE_URL} ({exc}). This machine may be offline. {FIX_HINT}"
            ) from exc
    return cache


def _check_split(split: str) -> str:
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, not {split!r}")
    return split


def _idx_shape(raw: bytes, path: Path, ndim: int) -> tuple[int, ...]:
    """The shape an IDX file's header announces, after checking its length and magic number."""
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes). {FIX_HINT}")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(
            f"{path} has IDX magic number 0x{magic:08x}, expected 0x{_IDX_MAGIC[ndim]:08x} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''}). {FIX_HINT}"
        )
    return tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))


def read_idx_head(path: Path, ndim: int, count: int) -> np.ndarray:
    """The first ``count`` items of a gzip-compressed IDX file, decompressing only as far as they go.

    No MD5 check (that needs the whole file): for a few images shown before the whole split is needed
    (Home's gallery needs 20 of the 10,000 test images; the whole split costs a decompression and an MD5
    of 4.4 MB). The header is checked, and a file shorter than ``count`` items is an error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Missing data file {path}. {FIX_HINT}")
    header_len = 4 + 4 * ndim
    try:
        with gzip.open(path, "rb") as f:
            header = f.read(header_len)
            shape = _idx_shape(header, path, ndim)
            item = int(np.prod(shape[1:]))
            wanted = min(count, shape[0])
            raw = f.read(wanted * item)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"Cannot decompress {path} ({exc}): the file is truncated or corrupt. {FIX_HINT}") from exc
    if len(raw) != wanted * item:
        raise DataError(f"{path} ends after {len(raw) // max(item, 1)} items: the file is truncated. {FIX_HINT}")
    return np.frombuffer(raw, dtype=np.uint8).reshape((wanted, *shape[1:]))


def read_idx(path: Path, ndim: int, expected_md5: str | None = None) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes, checking everything we can."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Missing data file {path}. {FIX_HINT}")
    if expected_md5 is not None:
        actual = md5_of(path)
        if actual != expected_md5:
            raise DataError(
                f"Wrong checksum for {path}: MD5 {actual}, expected the official "
                f"{expected_md5}. The file is damaged or not the official one. {FIX_HINT}"
            )
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"Cannot decompress {path} ({exc}): the file is truncated or corrupt. {FIX_HINT}") from exc

    shape = _idx_shape(raw, path, ndim)
    expected_len = 4 + 4 * ndim + int(np.prod(shape))
    if len(raw) != expected_len:
        raise DataError(
            f"{path} holds {len(raw) - 4 - 4 * ndim} data bytes but its header announces "
            f"shape {shape} ({expected_len - 4 - 4 * ndim} bytes): the file is truncated or corrupt. {FIX_HINT}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(split: str = "test", data_dir: str | Path | None = None, verify: bool = True) -> Split:
    """Load one split as uint8 arrays; reads only that split's two files.

    ``data_dir`` overrides the search order above; ``verify=False`` skips the MD5
    check (for small test files the tests make themselves).
    """
    names = SPLIT_FILES[_check_split(split)]
    folder = Path(data_dir) if data_dir is not None else find_data_dir(split)
    if not folder.is_dir():
        raise DataError(f"Fashion-MNIST folder {folder} does not exist. {FIX_HINT}")
    images_name, labels_name = names
    images = read_idx(folder / images_name, 3, OFFICIAL_MD5[images_name] if verify else None)
    labels = read_idx(folder / labels_name, 1, OFFICIAL_MD5[labels_name] if verify else None)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{folder / images_name} holds images of shape {images.shape[1:]}, expected {IMAGE_SHAPE}. {FIX_HINT}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{folder / images_name} holds {len(images)} images but {folder / labels_name} "
            f"holds {len(labels)} labels. {FIX_HINT}"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(f"{folder / labels_name} holds label {int(labels.max())}, outside 0-9. {FIX_HINT}")
    return Split(images=images, labels=labels, source=folder)


def load_head(split: str = "test", count: int = 100, data_dir: str | Path | None = None) -> Split:
    """The first ``count`` images and labels of a split, without reading the rest (see read_idx_head)."""
    names = SPLIT_FILES[_check_split(split)]
    folder = Path(data_dir) if data_dir is not None else find_data_dir(split)
    images_name, labels_name = names
    images = read_idx_head(folder / images_name, 3, count)
    labels = read_idx_head(folder / labels_name, 1, count)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{folder / images_name} holds images of shape {images.shape[1:]}, expected {IMAGE_SHAPE}. {FIX_HINT}"
        )
    if len(images) != len(labels) or (labels.size and labels.max() >= NUM_CLASSES):
        raise DataError(f"{folder / labels_name} does not label {folder / images_name}'s images 0-9. {FIX_HINT}")
    return Split(images=images, labels=labels, source=folder)


def data_md5s(folder: Path) -> dict[str, str]:
    """MD5 of every data file present in ``folder`` (for the model card)."""
    return {name: md5_of(folder / name) for name in OFFICIAL_MD5 if (folder / name).is_file()}


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: the model's input contract."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., np.newaxis]
