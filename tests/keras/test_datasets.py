"""keras.datasets: loaders read tiny fake files in Keras's exact cache formats from a temporary KERAS_HOME."""

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import urllib.error

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import backend
from fnflow_keras.datasets import _files, _safe_pickle

RNG = np.random.default_rng(0)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh KERAS_HOME; any network access fails the test."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))

    def no_network(url):
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(_files, "_open_url", no_network)
    return tmp_path / "kh"


def _datasets(home):
    d = home / "datasets"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _offline(monkeypatch):
    def fail(url):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(_files, "_open_url", fail)


# ---------------------------------------------------------------- mnist / fashion-mnist


def test_mnist_reads_keras_cache(home):
    xtr = RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    ytr = RNG.integers(0, 10, 6, dtype=np.uint8)
    xte = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    yte = RNG.integers(0, 10, 3, dtype=np.uint8)
    np.savez_compressed(_datasets(home) / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    (a, b), (c, d) = keras.datasets.mnist.load_data()
    for got, want in ((a, xtr), (b, ytr), (c, xte), (d, yte)):
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_keras_home_is_read_at_call_time(tmp_path, monkeypatch):
    for name, value in (("one", 1), ("two", 2)):
        d = tmp_path / name / "datasets"
        d.mkdir(parents=True)
        z = np.full((1, 28, 28), value, np.uint8)
        np.savez(d / "mnist.npz", x_train=z, y_train=z[:, 0, 0], x_test=z, y_test=z[:, 0, 0])
    for name, value in (("one", 1), ("two", 2)):
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / name))
        (x, _), _ = keras.datasets.mnist.load_data()
        assert x[0, 0, 0] == value


def _idx_gz(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_files(home):
    d = _datasets(home) / "fashion-mnist"
    d.mkdir()
    xtr, ytr = RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8), RNG.integers(0, 10, 5, dtype=np.uint8)
    xte, yte = RNG.integers(0, 256, (2, 28, 28), dtype=np.uint8), RNG.integers(0, 10, 2, dtype=np.uint8)
    _idx_gz(d / "train-images-idx3-ubyte.gz", xtr)
    _idx_gz(d / "train-labels-idx1-ubyte.gz", ytr)
    _idx_gz(d / "t10k-images-idx3-ubyte.gz", xte)
    _idx_gz(d / "t10k-labels-idx1-ubyte.gz", yte)
    (a, b), (c, e) = keras.datasets.fashion_mnist.load_data()
    for got, want in ((a, xtr), (b, ytr), (c, xte), (e, yte)):
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_bad_idx_magic_is_reported(home):
    d = _datasets(home) / "fashion-mnist"
    d.mkdir()
    for name in keras.datasets.fashion_mnist.FILE_HASHES:
        with gzip.open(d / name, "wb") as f:
            f.write(b"\x01\x02\x03\x04garbage")
    with pytest.raises(ValueError, match="not an IDX file"):
        keras.datasets.fashion_mnist.load_data()


# ---------------------------------------------------------------- cifar


def _cifar_batch(path, n, label_key="labels", protocol=2, extra=None):
    data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in RNG.integers(0, 10, n)]
    d = {b"batch_label": b"fake batch", label_key.encode(): labels, b"data": data,
         b"filenames": [b"img%d.png" % i for i in range(n)]}
    d.update(extra or {})
    with open(path, "wb") as f:
        pickle.dump(d, f, protocol=protocol)
    return data.reshape(n, 3, 32, 32), np.array(labels)


def _write_cifar10(folder, protocol=2):
    folder.mkdir(parents=True)
    parts = [_cifar_batch(folder / f"data_batch_{i}", 2, protocol=protocol) for i in range(1, 6)]
    xte, yte = _cifar_batch(folder / "test_batch", 3, protocol=protocol)
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    return (xtr, ytr), (xte, yte)


def _check_cifar10(expected, channels_last=True):
    (xtr, ytr), (xte, yte) = expected
    (a, b), (c, d) = keras.datasets.cifar10.load_data()
    assert a.dtype == b.dtype == c.dtype == d.dtype == np.uint8
    assert b.shape == (10, 1) and d.shape == (3, 1)
    if channels_last:
        xtr, xte = xtr.transpose(0, 2, 3, 1), xte.transpose(0, 2, 3, 1)
    assert a.shape == ((10, 32, 32, 3) if channels_last else (10, 3, 32, 32))
    np.testing.assert_array_equal(a, xtr)
    np.testing.assert_array_equal(c, xte)
    np.testing.assert_array_equal(b[:, 0], ytr)
    np.testing.assert_array_equal(d[:, 0], yte)


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar10_keras3_layout(home, protocol):
    expected = _write_cifar10(_datasets(home) / "cifar-10-batches-py-target" / "cifar-10-batches-py", protocol)
    _check_cifar10(expected)


def test_cifar10_legacy_layout_and_channels_first(home):
    expected = _write_cifar10(_datasets(home) / "cifar-10-batches-py")
    backend.set_image_data_format("channels_first")
    try:
        _check_cifar10(expected, channels_last=False)
    finally:
        backend.set_image_data_format("channels_last")


def test_cifar10_extracts_a_cached_archive(home, tmp_path):
    src = tmp_path / "src"
    expected = _write_cifar10(src / "cifar-10-batches-py")
    with tarfile.open(_datasets(home) / "cifar-10-batches-py-target_archive", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    _check_cifar10(expected)
    assert (home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py" / "test_batch").exists()
    assert not [p for p in os.listdir(home / "datasets") if p.endswith(".part")]


def test_cifar_archive_with_escaping_path_is_refused(home, tmp_path):
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    with tarfile.open(_datasets(home) / "cifar-10-batches-py-target_archive", "w:gz") as tar:
        tar.add(evil, arcname="../evil.txt")
    with pytest.raises(ValueError, match="outside"):
        keras.datasets.cifar10.load_data()
    assert not (home / "evil.txt").exists()


class _Gadget:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_pickle_with_foreign_global_is_refused(home):
    folder = _datasets(home) / "cifar-10-batches-py"
    _write_cifar10(folder)
    _cifar_batch(folder / "data_batch_3", 2, extra={b"x": _Gadget()})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load (posix|nt).system"):
        keras.datasets.cifar10.load_data()


@pytest.mark.parametrize("payload", [eval, getattr, __import__])
def test_restricted_unpickler_refuses_dangerous_builtins(payload):
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _safe_pickle.restricted_load(io.BytesIO(pickle.dumps(payload)))


def test_cifar100_fine_and_coarse(home):
    folder = _datasets(home) / "cifar-100-python-target" / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, n in (("train", 4), ("test", 2)):
        data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
        d = {b"data": data, b"fine_labels": list(range(90, 90 + n)), b"coarse_labels": list(range(10, 10 + n))}
        with open(folder / name, "wb") as f:
            pickle.dump(d, f, protocol=2)
    (a, b), (c, d) = keras.datasets.cifar100.load_data()
    assert a.shape == (4, 32, 32, 3) and a.dtype == np.uint8 and c.shape == (2, 32, 32, 3)
    assert b.shape == (4, 1) and b.dtype == np.int64
    np.testing.assert_array_equal(b[:, 0], [90, 91, 92, 93])
    (_, b), (_, d) = keras.datasets.cifar100.load_data(label_mode="coarse")
    np.testing.assert_array_equal(d[:, 0], [10, 11])
    with pytest.raises(ValueError, match="label_mode"):
        keras.datasets.cifar100.load_data(label_mode="medium")


# ---------------------------------------------------------------- imdb


def _ragged(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = list(s)
    return out


TRAIN = [[0, 1, 2], [5, 6], [3, 3, 3, 3, 3], [9]]
TEST = [[4, 0], [7, 8, 1, 2]]


@pytest.fixture
def imdb_home(home):
    np.savez(_datasets(home) / "imdb.npz", x_train=_ragged(TRAIN), y_train=np.array([1, 0, 1, 0]),
             x_test=_ragged(TEST), y_test=np.array([0, 1]))
    return home


def _shuffled(seed=113):
    rng = np.random.RandomState(seed)
    a = np.arange(len(TRAIN))
    rng.shuffle(a)
    b = np.arange(len(TEST))
    rng.shuffle(b)
    return [TRAIN[i] for i in a], [TEST[i] for i in b], np.array([1, 0, 1, 0])[a], np.array([0, 1])[b]


def test_imdb_shifts_indices_and_adds_start_char(imdb_home):
    (xtr, ytr), (xte, yte) = keras.datasets.imdb.load_data()
    tr, te, ltr, lte = _shuffled()
    assert xtr.dtype == object and xtr.shape == (4,) and xte.shape == (2,)
    # without num_words the bound is the largest index present, exclusive (so it becomes oov), as in Keras
    top = max(w + 3 for s in TRAIN + TEST for w in s)
    assert list(xtr) == [[1] + [w + 3 if w + 3 < top else 2 for w in s] for s in tr]
    assert list(xte) == [[1] + [w + 3 if w + 3 < top else 2 for w in s] for s in te]
    assert [2] in [x[1:] for x in xtr]  # the review [9] -> [1, 12] -> [1, 2]
    np.testing.assert_array_equal(ytr, ltr)
    np.testing.assert_array_equal(yte, lte)


def test_imdb_num_words_skip_top_and_maxlen(imdb_home):
    (xtr, ytr), (xte, _) = keras.datasets.imdb.load_data(num_words=8, skip_top=4, maxlen=4)
    tr, te, ltr, _ = _shuffled()
    kept = [(s, y) for s, y in zip(tr, ltr) if len(s) + 1 < 4]

    def cut(w):
        return w if 4 <= w < 8 else 2

    assert list(xtr) == [[cut(1)] + [cut(w + 3) for w in s] for s, _ in kept]
    np.testing.assert_array_equal(ytr, [y for _, y in kept])
    assert list(xte) == [[cut(1)] + [cut(w + 3) for w in s] for s in te if len(s) + 1 < 4]
    # oov_char=None drops the cut words; start_char=None and index_from=0 keep raw indices
    (xtr, _), _ = keras.datasets.imdb.load_data(num_words=6, start_char=None, oov_char=None, index_from=0)
    assert list(xtr) == [[w for w in s if w < 6] for s in tr]


def test_imdb_maxlen_too_small(imdb_home):
    with pytest.raises(ValueError, match="Increase maxlen"):
        keras.datasets.imdb.load_data(maxlen=1)


def test_imdb_npz_with_pickle_gadget_is_refused(home):
    bad = np.empty(1, dtype=object)
    bad[0] = _Gadget()
    np.savez(_datasets(home) / "imdb.npz", x_train=bad, y_train=np.array([1]), x_test=bad, y_test=np.array([1]))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        keras.datasets.imdb.load_data()


def test_imdb_word_index(home):
    (_datasets(home) / "imdb_word_index.json").write_text('{"the": 1, "and": 2}')
    assert keras.datasets.imdb.get_word_index() == {"the": 1, "and": 2}


def test_boston_housing_split(home):
    x = np.arange(50 * 13, dtype=np.float64).reshape(50, 13)
    y = np.arange(50, dtype=np.float64)
    np.savez(_datasets(home) / "boston_housing.npz", x=x, y=y)
    (a, b), (c, d) = keras.datasets.boston_housing.load_data()
    assert a.shape == (40, 13) and c.shape == (10, 13) and b.shape == (40,) and a.dtype == np.float64
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(b, order[:40])
    np.testing.assert_array_equal(c, x[order[40:]])


# ---------------------------------------------------------------- downloads


def test_offline_error_names_the_file_and_folder(home, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(keras.datasets.DatasetNotAvailableError) as err:
        keras.datasets.mnist.load_data()
    msg = str(err.value)
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in msg
    assert os.path.join(str(home), "datasets", "mnist.npz") in msg
    assert "KERAS_HOME" in msg and "name resolution" in msg
    assert isinstance(err.value, OSError)
    assert os.listdir(home / "datasets") == []  # no partial file left behind


def test_offline_error_for_cifar_names_folder_and_archive(home, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(keras.datasets.DatasetNotAvailableError) as err:
        keras.datasets.cifar10.load_data()
    msg = str(err.value)
    assert "cifar-10-python.tar.gz" in msg
    assert os.path.join("cifar-10-batches-py-target", "cifar-10-batches-py") in msg
    assert "data_batch_1" in msg


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_checks_the_hash_and_writes_atomically(home, monkeypatch):
    buf = io.BytesIO()
    z = np.zeros((1, 28, 28), np.uint8)
    np.savez(buf, x_train=z, y_train=z[:, 0, 0], x_test=z, y_test=z[:, 0, 0])
    payload = buf.getvalue()
    urls = []

    def serve(url):
        urls.append(url)
        return _Response(payload)

    monkeypatch.setattr(_files, "_open_url", serve)
    # wrong hash: refused, nothing written
    with pytest.raises(keras.datasets.DatasetNotAvailableError, match="corrupted"):
        keras.datasets.mnist.load_data()
    assert os.listdir(home / "datasets") == []
    # right hash: written under the final name and loaded
    monkeypatch.setattr(keras.datasets.mnist, "FILE_HASH", hashlib.sha256(payload).hexdigest())
    (x, _), _ = keras.datasets.mnist.load_data()
    assert x.shape == (1, 28, 28)
    assert os.listdir(home / "datasets") == ["mnist.npz"]
    assert urls == [_files.KERAS_ORIGIN + "mnist.npz"] * 2
    keras.datasets.mnist.load_data()  # cached now: no third download
    assert len(urls) == 2


def test_md5_hashes_are_recognized(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert _files._algorithm(hashlib.md5(b"abc").hexdigest()) == "md5"
    assert _files.file_digest(str(p), "md5") == hashlib.md5(b"abc").hexdigest()


# ---------------------------------------------------------------- digits


def test_digits_like_mnist():
    (xtr, ytr), (xte, yte) = keras.datasets.digits.load_data()
    assert xtr.shape == (1438, 8, 8) and xte.shape == (359, 8, 8)
    assert xtr.dtype == ytr.dtype == xte.dtype == yte.dtype == np.uint8
    assert ytr.shape == (1438,) and set(np.unique(ytr)) == set(range(10))
    from fnflow.datasets import load_digits

    (ftr, fy), _ = load_digits(return_split=True)
    np.testing.assert_array_equal(xtr, np.rint(np.asarray(ftr, np.float64) * 255))
    np.testing.assert_array_equal(ytr, fy)
    assert xtr.max() == 255 and xtr.min() == 0
    # every value is a scaled count 0..16
    assert set(np.unique(xtr)) <= {round(c * 255 / 16) for c in range(17)}
    xtr[0, 0, 0] = 1  # writable like Keras's arrays
