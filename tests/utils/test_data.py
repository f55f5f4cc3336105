"""timeseries_dataset_from_array (Keras 3's docstring examples), TimeseriesGenerator (Keras 2's
docstring example), text_dataset_from_directory, plot_history's clear error."""

import sys

import numpy as np
import pytest

from rnnkit.preprocessing.sequence import TimeseriesGenerator
from rnnkit.utils import plot_history, text_dataset_from_directory, timeseries_dataset_from_array


def test_keras_example_1_window_indices():
    # Keras: indices 0..98, sequence_length=10, sampling_rate=2, sequence_stride=3.
    data = np.arange(99)
    ds = timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2, sequence_stride=3,
                                       batch_size=1000)
    (x,) = list(ds)
    np.testing.assert_array_equal(x[0], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
    np.testing.assert_array_equal(x[1], [3, 5, 7, 9, 11, 13, 15, 17, 19, 21])
    np.testing.assert_array_equal(x[2], [6, 8, 10, 12, 14, 16, 18, 20, 22, 24])
    np.testing.assert_array_equal(x[-1], [78, 80, 82, 84, 86, 88, 90, 92, 94, 96])


def test_keras_example_2_temporal_regression():
    data = np.random.default_rng(0).normal(size=50)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = next(iter(ds))
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]
    assert len(inputs) == 31 and len(ds) == 1      # 40 - 9 windows, all in one batch of 128


def test_keras_example_3_many_to_many():
    X = np.arange(100)
    Y = X * 2
    inputs_ds = timeseries_dataset_from_array(X, None, sequence_length=20, sequence_stride=20)
    targets_ds = timeseries_dataset_from_array(Y, None, sequence_length=20, sequence_stride=20)
    for inputs, targets in zip(inputs_ds, targets_ds):
        np.testing.assert_array_equal(inputs[0], X[:20])
        np.testing.assert_array_equal(targets[1], Y[20:40])
        assert inputs.shape == (5, 20)


def test_batches_start_and_end_index_and_reiteration():
    data = np.arange(30)[:, None] * np.ones((1, 2))
    ds = timeseries_dataset_from_array(data, np.arange(30), sequence_length=4, batch_size=5, start_index=3,
                                       end_index=20)
    batches = list(ds)
    # windows start at 3 .. 16 (the last ends at 19 < 20): 14 windows in batches of 5, 5, 4
    assert [len(b[0]) for b in batches] == [5, 5, 4] and len(ds) == 3
    np.testing.assert_array_equal(batches[0][0][0][:, 0], [3, 4, 5, 6])
    np.testing.assert_array_equal(batches[-1][1], [13, 14, 15, 16])
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, list(ds)))      # re-iterable


def test_shuffle_is_a_seeded_permutation_of_the_windows():
    data = np.arange(40)
    plain = np.concatenate([b for b in timeseries_dataset_from_array(data, None, 5, batch_size=7)])
    mixed = np.concatenate([b for b in timeseries_dataset_from_array(data, None, 5, batch_size=7, shuffle=True,
                                                                     seed=3)])
    again = np.concatenate([b for b in timeseries_dataset_from_array(data, None, 5, batch_size=7, shuffle=True,
                                                                     seed=3)])
    assert not np.array_equal(plain, mixed) and np.array_equal(mixed, again)
    assert sorted(map(tuple, mixed)) == sorted(map(tuple, plain))


@pytest.mark.parametrize("kwargs,message", [
    ({"start_index": -1}, "`start_index` must be 0 or greater"),
    ({"end_index": 50}, "`end_index` must be lower than the length"),
    ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0"),
    ({"sequence_stride": 0}, "`sequence_stride` must be higher than 0"),
    ({"start_index": 10, "end_index": 5}, "`end_index` must be higher than `start_index`"),
])
def test_timeseries_errors_are_keras_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(np.arange(40), None, 5, **kwargs)


def test_timeseries_generator_keras_example():
    data = np.array([[i] for i in range(50)])
    targets = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2)
    assert len(gen) == 20
    x, y = gen[0]
    np.testing.assert_array_equal(x, np.array([[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]]))
    np.testing.assert_array_equal(y, np.array([[10], [11]]))
    x, y = gen[19]
    np.testing.assert_array_equal(y, [[48], [49]])
    x, _ = TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2, reverse=True)[0]
    np.testing.assert_array_equal(x[0, :, 0], [8, 6, 4, 2, 0])
    with pytest.raises(ValueError, match="same length"):
        TimeseriesGenerator(data, targets[:-1], length=10)
    with pytest.raises(ValueError, match="disallowed"):
        TimeseriesGenerator(data, targets, length=60)


@pytest.fixture
def text_folder(tmp_path):
    for label, count in (("neg", 4), ("pos", 6)):
        (tmp_path / label).mkdir()
        for i in range(count):
            (tmp_path / label / f"{i:02d}.txt").write_text(f"{label} text {i}")
    (tmp_path / "pos" / "notes.md").write_text("not a text file of the dataset")
    return tmp_path


def test_text_dataset_labels_from_subfolders(text_folder):
    ds = text_dataset_from_directory(text_folder, batch_size=4, shuffle=False, verbose=False)
    assert ds.class_names == ["neg", "pos"] and len(ds) == 3
    texts = np.concatenate([t for t, _ in ds])
    labels = np.concatenate([y for _, y in ds])
    assert len(texts) == 10 and labels.dtype == np.int32
    for text, label in zip(texts, labels):
        assert text.startswith(ds.class_names[label])
    _, y = next(iter(text_dataset_from_directory(text_folder, label_mode="categorical", verbose=False)))
    assert y.shape[1] == 2 and y.dtype == np.float32
    _, y = next(iter(text_dataset_from_directory(text_folder, label_mode="binary", verbose=False)))
    assert y.shape[1] == 1
    only = text_dataset_from_directory(text_folder, class_names=["pos"], shuffle=False, verbose=False)
    assert only.class_names == ["pos"] and sum(len(t) for t, _ in only) == 6


def test_text_dataset_validation_split_is_disjoint_and_seeded(text_folder):
    train, val = text_dataset_from_directory(text_folder, validation_split=0.3, subset="both", seed=7,
                                             verbose=False)
    assert len(train.file_paths) == 7 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    again = text_dataset_from_directory(text_folder, validation_split=0.3, subset="validation", seed=7,
                                        verbose=False)
    assert again.file_paths == val.file_paths
    with pytest.raises(ValueError, match="seed"):
        text_dataset_from_directory(text_folder, validation_split=0.3, subset="training", verbose=False)
    with pytest.raises(ValueError, match="class_names"):
        text_dataset_from_directory(text_folder, class_names=["cats"], verbose=False)
    with pytest.raises(ValueError, match="`label_mode`"):
        text_dataset_from_directory(text_folder, label_mode="sparse", verbose=False)


def test_plot_history_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r'pip install "rnnkit\[plot\]"'):
        plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, tmp_path / "h.png")
    assert not (tmp_path / "h.png").exists()
    with pytest.raises(ValueError, match="no epoch"):
        plot_history({}, tmp_path / "h.png")


def test_take_gives_the_first_batches_as_tf_data_take():
    # keras-io programs call dataset.take(n) on what timeseries_dataset_from_array returns.
    ds = timeseries_dataset_from_array(np.arange(20), np.arange(20), sequence_length=3, batch_size=4)
    everything = list(ds)
    first = ds.take(1)
    assert len(first) == 1
    np.testing.assert_array_equal(first[0][0], everything[0][0])
    np.testing.assert_array_equal(first[0][1], everything[0][1])
    assert len(ds.take(100)) == len(ds) == len(ds.take(-1))
    assert ds.take(0) == []
    with pytest.raises(ValueError, match="count"):
        ds.take(-2)
    with pytest.raises(ValueError, match="count"):
        ds.take(1.5)


def test_keras_preprocessing_aliases_of_the_dataset_utilities():
    # Keras 3 exports both under keras.preprocessing as well as keras.utils.
    import rnnkit as keras

    assert keras.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array
    assert keras.preprocessing.text_dataset_from_directory is text_dataset_from_directory


def test_dataset_batches_answer_numpy_as_tf_data_batches_do():
    import numpy as np
    from rnnkit.utils import timeseries_dataset_from_array
    data = np.arange(20, dtype="float32")[:, None]
    for x, y in timeseries_dataset_from_array(data, data[:, 0], sequence_length=3, batch_size=4).take(1):
        assert type(x.numpy()) is np.ndarray and np.array_equal(x.numpy(), x)
        assert np.array_equal(y.numpy(), [0, 1, 2, 3])
