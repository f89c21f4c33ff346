import gzip

import numpy as np
import pytest

from dataset import fashion_mnist as data
from dataset.fashion_mnist import CLASS_NAMES, DataError, load_split, md5_of, read_idx
from tests.conftest import needs_data
from tests.idx_files import idx_bytes, write_split


def test_valid_small_files_round_trip(tmp_path):
    images, labels = write_split(tmp_path, "test", n=17)
    split = load_split("test", data_dir=tmp_path, verify=False)
    assert split.images.dtype == np.uint8 and split.labels.dtype == np.uint8
    np.testing.assert_array_equal(split.images, images)
    np.testing.assert_array_equal(split.labels, labels)
    assert len(split) == 17


def test_matching_checksum_is_accepted(tmp_path):
    write_split(tmp_path, "test", n=5)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    assert read_idx(path, 1, expected_md5=md5_of(path)).shape == (5,)


def test_wrong_checksum_names_file_and_fix(tmp_path):
    write_split(tmp_path, "test")
    with pytest.raises(DataError) as err:
        load_split("test", data_dir=tmp_path, verify=True)
    message = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "checksum" in message
    assert "FASHION_MNIST_DIR" in message


def test_truncated_gzip(tmp_path):
    write_split(tmp_path, "test")
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="truncated or corrupt") as err:
        load_split("test", data_dir=tmp_path, verify=False)
    assert str(path) in str(err.value)


def test_truncated_payload_with_valid_gzip(tmp_path):
    write_split(tmp_path, "test", n=10)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="header announces"):
        load_split("test", data_dir=tmp_path, verify=False)


def test_not_gzip_at_all(tmp_path):
    write_split(tmp_path, "test")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>404 not found</html>")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_split("test", data_dir=tmp_path, verify=False)


def test_wrong_magic(tmp_path):
    write_split(tmp_path, "test", n=4)
    labels = np.zeros(4, dtype=np.uint8)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, magic=0x00000D01)))
    with pytest.raises(DataError, match="magic number 0x00000d01"):
        load_split("test", data_dir=tmp_path, verify=False)


def test_images_and_labels_disagree(tmp_path):
    write_split(tmp_path, "test", n=4)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(DataError, match="4 images but"):
        load_split("test", data_dir=tmp_path, verify=False)


def test_missing_file(tmp_path):
    write_split(tmp_path, "test")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="Missing data file .*t10k-labels-idx1-ubyte.gz"):
        load_split("test", data_dir=tmp_path, verify=False)


def test_missing_folder_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="FASHION_MNIST_DIR is set to .*nowhere"):
        load_split("test")


def test_test_split_never_reads_training_files(tmp_path, monkeypatch):
    write_split(tmp_path, "test")
    # Training files that would fail any read: loading the test split must not touch them.
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    opened = []
    real_open = gzip.open
    monkeypatch.setattr(gzip, "open", lambda path, *a, **k: (opened.append(str(path)), real_open(path, *a, **k))[1])
    assert len(load_split("test", verify=False)) == 20
    assert opened and not any("train-" in p for p in opened)
    with pytest.raises(DataError):
        load_split("train", verify=False)


def test_keras_cache_honours_keras_home(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    cache = tmp_path / "kh" / "datasets" / "fashion-mnist"
    write_split(cache, "test", n=3)
    assert data.find_data_dir("test", download=False) == cache
    assert len(load_split("test", verify=False)) == 3


def test_offline_without_data_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="downloading is off"):
        data.find_data_dir("test", download=False)


def test_model_input_contract():
    x = data.to_model_input(np.array([[[0, 255] * 14] * 28], dtype=np.uint8))
    assert x.shape == (1, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0


def test_ten_class_names():
    assert len(CLASS_NAMES) == 10 and len(set(CLASS_NAMES)) == 10


@needs_data
def test_real_files(data_env):
    test = load_split("test")
    assert test.images.shape == (10_000, 28, 28) and test.labels.shape == (10_000,)
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert abs(test.images.mean() - 73.1466) < 0.01
    train = load_split("train")
    assert train.images.shape == (60_000, 28, 28)
    assert np.bincount(train.labels).tolist() == [6000] * 10


def test_head_is_the_start_of_the_split(tmp_path):
    images, labels = write_split(tmp_path, n=20)
    head = data.load_head("test", 7, data_dir=tmp_path)
    np.testing.assert_array_equal(head.images, images[:7])
    np.testing.assert_array_equal(head.labels, labels[:7])
    whole = data.load_head("test", 500, data_dir=tmp_path)  # more than there are: all of them
    assert len(whole.images) == 20


def test_head_checks_header_and_length(tmp_path):
    name = data.SPLIT_FILES["test"][0]
    (tmp_path / name).write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28)), magic=0x00000801)))
    with pytest.raises(DataError, match="magic"):
        data.read_idx_head(tmp_path / name, 3, 2)
    # The header announces 10 images but only 3 are there: asking for 5 is an error, not 3 silently.
    full = idx_bytes(np.zeros((10, 28, 28)))
    (tmp_path / name).write_bytes(gzip.compress(full[: 16 + 3 * 784]))
    with pytest.raises(DataError, match="truncated"):
        data.read_idx_head(tmp_path / name, 3, 5)
    assert data.read_idx_head(tmp_path / name, 3, 3).shape == (3, 28, 28)


@needs_data
def test_head_of_the_real_test_file_matches_the_verified_split(data_env):
    full = load_split("test")
    head = data.load_head("test", 100)
    np.testing.assert_array_equal(head.images, full.images[:100])
    np.testing.assert_array_equal(head.labels, full.labels[:100])
