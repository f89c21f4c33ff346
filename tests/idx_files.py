"""Small IDX files for loader tests, written by the tests themselves."""

import gzip
from pathlib import Path

import numpy as np

from dataset.fashion_mnist import SPLIT_FILES


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x00000800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_split(folder: Path, split: str = "test", n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    images_name, labels_name = SPLIT_FILES[split]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / images_name).write_bytes(gzip.compress(idx_bytes(images)))
    (folder / labels_name).write_bytes(gzip.compress(idx_bytes(labels)))
    return images, labels
