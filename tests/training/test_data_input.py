"""fit / evaluate / predict on generators, iterables and Sequences; sample and class weights;
weighted metrics; History names. Each expected value is stated from Keras's documented rule
and computed independently (arrays vs batches, formulas written here)."""

import io
import tracemalloc
import warnings

import numpy as np
import pytest

from rnnkit import callbacks, metrics, optimizers
from rnnkit.layers import LSTM, Dense, Embedding, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.utils import PyDataset, Sequence, set_random_seed


def data(n=32, T=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, 2)).astype("float32")
    return x, x.mean(axis=(1, 2))[:, None]


def model(seed=0, optimizer=None, **compile_kwargs):
    set_random_seed(seed)
    m = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(1)])
    m.compile(optimizer or optimizers.SGD(0.1), **({"loss": "mse"} | compile_kwargs))
    return m


def batches(x, y, size, sw=None):
    for start in range(0, len(x), size):
        part = slice(start, start + size)
        yield (x[part], y[part]) if sw is None else (x[part], y[part], sw[part])


class ArraySequence(Sequence):
    def __init__(self, x, y, size):
        self.x, self.y, self.size, self.epochs_ended = x, y, size, 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        return self.x[i * self.size:(i + 1) * self.size], self.y[i * self.size:(i + 1) * self.size]

    def on_epoch_end(self):
        self.epochs_ended += 1


class Unsized:
    """An iterable of unknown length (no __len__), re-iterable."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size

    def __iter__(self):
        return batches(self.x, self.y, self.size)


def test_a_generator_trains_exactly_like_the_same_arrays():
    x, y = data()
    by_arrays = model()
    h1 = by_arrays.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    by_generator = model()
    h2 = by_generator.fit(batches(x, y, 8), steps_per_epoch=4, epochs=1, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]
    for a, b in zip(by_arrays.get_weights(), by_generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_an_iterable_is_read_afresh_each_epoch_and_a_generator_goes_on():
    x, y = data()
    by_arrays = model()
    h1 = by_arrays.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    by_list = model()
    h2 = by_list.fit(list(batches(x, y, 8)), epochs=3, verbose=0)
    by_unsized = model()
    h3 = by_unsized.fit(Unsized(x, y, 8), epochs=3, verbose=0)
    assert h1.history["loss"] == h2.history["loss"] == h3.history["loss"]
    # A generator (an iterator) is consumed across epochs: 3 epochs of 2 steps take 6 batches.
    endless = ((x[i % 4 * 8:(i % 4 + 1) * 8], y[i % 4 * 8:(i % 4 + 1) * 8]) for i in range(10**9))
    by_generator = model()
    h4 = by_generator.fit(endless, steps_per_epoch=2, epochs=2, verbose=0)
    assert len(h4.history["loss"]) == 2
    assert next(endless)[0][0, 0, 0] == x[0, 0, 0]      # batch 4 of the cycle: 4 were taken


def test_a_sequence_shuffles_batch_order_and_hears_on_epoch_end():
    x, y = data()
    seq = ArraySequence(x, y, 8)
    by_arrays = model()
    h1 = by_arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    by_sequence = model()
    h2 = by_sequence.fit(seq, epochs=2, shuffle=False, verbose=0)
    assert h1.history["loss"] == h2.history["loss"] and seq.epochs_ended == 2
    seen = []

    class Recording(PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            seen.append(i)
            return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]

    model().fit(Recording(), epochs=3, shuffle=True, verbose=0)
    assert sorted(seen) == sorted(list(range(4)) * 3) and seen != list(range(4)) * 3


def test_ten_gigabytes_nominal_are_read_only_batch_by_batch():
    produced = []

    def huge():      # 10 GiB if it ran to the end: 40960 batches of 256 KiB
        rng = np.random.default_rng(0)
        for i in range(40960):
            produced.append(i)
            xb = rng.normal(size=(64, 5, 2)).astype("float32")
            yield xb, xb.mean(axis=(1, 2))[:, None]
    m = model()
    tracemalloc.start()
    m.fit(huge(), steps_per_epoch=5, epochs=3, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert produced == list(range(15)) and peak < 20 * 2**20


def test_a_generator_that_runs_out_stops_training_with_keras_warning():
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model().fit(batches(x, y, 8), steps_per_epoch=3, epochs=4, verbose=0)
    assert len(history.history["loss"]) == 2            # 3 steps, then 1 step and the data ran out
    assert any("ran out of data" in str(w.message) for w in caught)


def test_unknown_length_shows_unknown_then_the_count(capsys):
    x, y = data()
    model().fit(Unsized(x, y, 8), epochs=2, verbose=1)
    out = capsys.readouterr().out
    first, second = out.split("Epoch 2/2")
    assert "4/4" in first and "4/Unknown" not in second and "4/4 [====" in second
    bar = callbacks.Progbar(None, stream=io.StringIO())
    assert bar._bar(7) == "      7/Unknown"


def test_validation_from_a_generator_with_validation_steps_and_freq():
    x, y = data()
    xv, yv = data(16, seed=1)
    m = model()
    history = m.fit(x, y, epochs=2, verbose=0, validation_data=Unsized(xv, yv, 4), validation_steps=2,
                    validation_freq=2)
    assert "val_loss" in history.history and len(history.history["val_loss"]) == 1
    assert history.history["val_loss"][0] == pytest.approx(m.evaluate(xv[:8], yv[:8], verbose=0), rel=1e-6)


def test_evaluate_and_predict_take_batches():
    x, y = data()
    m = model()
    assert m.evaluate(batches(x, y, 8), verbose=0) == pytest.approx(m.evaluate(x, y, verbose=0), rel=1e-6)
    assert m.evaluate(batches(x, y, 8), steps=1, verbose=0) == pytest.approx(m.evaluate(x[:8], y[:8], verbose=0),
                                                                            rel=1e-6)
    np.testing.assert_array_equal(m.predict(batches(x, y, 8), verbose=0), m.predict(x, verbose=0))
    np.testing.assert_array_equal(m.predict((b for b, _ in batches(x, y, 8)), verbose=0), m.predict(x, verbose=0))
    np.testing.assert_array_equal(m.predict(ArraySequence(x, y, 8), steps=2, verbose=0), m.predict(x[:16], verbose=0))


def test_batch_size_beside_a_stream_is_ignored_as_in_keras():
    # Keras 2 and 3 ignore `batch_size` when `x` brings its own batches; programs pass it anyway
    # (e.g. `fit(TimeseriesGenerator(..., batch_size=32), batch_size=32)`). A batch of 8 must stay 8.
    x, y = data()
    by_arrays = model()
    h1 = by_arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    by_sequence = model()
    h2 = by_sequence.fit(ArraySequence(x, y, 8), batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert h1.history["loss"] == h2.history["loss"] and by_sequence.optimizer.iterations == 8
    for a, b in zip(by_arrays.get_weights(), by_sequence.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert by_sequence.evaluate(batches(x, y, 8), batch_size=3, verbose=0) == pytest.approx(
        by_sequence.evaluate(x, y, verbose=0), rel=1e-6)
    np.testing.assert_array_equal(by_sequence.predict(ArraySequence(x, y, 8), batch_size=3, verbose=0),
                                  by_sequence.predict(x, verbose=0))
    with pytest.raises(ValueError, match="`batch_size`.*Received: 0"):   # still checked as a count
        by_sequence.fit(ArraySequence(x, y, 8), batch_size=0, verbose=0)


def test_a_bad_stream_is_refused_before_any_step():
    x, y = data()
    m = model()
    before = m.get_weights()
    with pytest.raises(ValueError, match="`x`.*Received"):
        m.fit(iter([(x[:8, :, :1], y[:8])]), verbose=0)
    with pytest.raises(ValueError, match="tuple"):
        m.fit(iter([x[:8]]), verbose=0)
    with pytest.raises(ValueError, match="`sample_weight`"):
        m.fit(batches(x, y, 8), sample_weight=np.ones(32), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


# ---- sample weights -----------------------------------------------------------------------------------
def test_sample_weight_scales_the_loss_and_the_step():
    # loss = sum(s_i l_i) / batch_size: weights of 2 double the loss and, with SGD, the step.
    x, y = data(8)
    plain = model(optimizer=optimizers.SGD(0.2))
    doubled = model(optimizer=optimizers.SGD(0.1))
    loss = plain.train_on_batch(x, y)
    loss2 = doubled.train_on_batch(x, y, sample_weight=np.full(8, 2.0))
    assert loss2 == pytest.approx(2 * loss, rel=1e-6)
    for a, b in zip(plain.get_weights(), doubled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_per_timestep_weights_on_a_masked_sequence_output():
    # Formula stated in advance (tf_keras): w = mask * (B*T / valid) * s; loss = sum(w l) / (B*T)
    # = sum(mask s l) / valid.  Weighted metric: sum(mask s m) / sum(mask s).
    set_random_seed(1)
    m = Sequential([Embedding(6, 3, mask_zero=True, input_length=4), LSTM(3, return_sequences=True),
                    Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"], weighted_metrics=["acc"])
    x = np.array([[1, 2, 3, 0], [4, 5, 0, 0], [2, 2, 2, 2]])
    y = np.array([[0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 1, 1]])
    sw = np.array([[1.0, 2.0, 0.5, 3.0], [0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 4.0]])
    p = m.predict(x, verbose=0).astype(np.float64)
    mask = x != 0
    l = -np.log(np.clip(np.take_along_axis(p, y[..., None], -1)[..., 0], 1e-7, 1 - 1e-7))
    hit = (np.argmax(p, -1) == y)
    expected_loss = np.sum(mask * sw * l) / mask.sum()
    loss, acc, weighted_acc = m.test_on_batch(x, y, sample_weight=sw)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert acc == pytest.approx(hit[mask].mean(), rel=1e-6)
    assert weighted_acc == pytest.approx(np.sum(mask * sw * hit) / np.sum(mask * sw), rel=1e-6)
    assert m.metrics_names == ["loss", "acc", "weighted_acc"]
    with pytest.raises(ValueError, match="`sample_weight`.*Received: shape \\(3, 5\\)"):
        m.test_on_batch(x, y, sample_weight=np.ones((3, 5)))


def test_class_weight_in_fit_equals_its_sample_weights():
    x, _ = data()
    labels = (x[:, 0, 0] > 0).astype(int) + (x[:, 0, 1] > 0).astype(int)          # classes 0, 1, 2
    table = {0: 1.0, 1: 3.0, 2: 0.5}

    def classifier():
        set_random_seed(2)
        c = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(3, activation="softmax")])
        c.compile(optimizers.RMSprop(0.01), "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
        return c
    a, b = classifier(), classifier()
    h1 = a.fit(x, labels, class_weight=table, epochs=2, batch_size=8, shuffle=False, verbose=0)
    h2 = b.fit(x, labels, sample_weight=np.array([table[c] for c in labels]), epochs=2, batch_size=8,
               shuffle=False, verbose=0)
    assert h1.history == h2.history and "weighted_accuracy" in h1.history
    onehot = np.eye(3)[labels]
    c1, c2 = classifier(), classifier()
    c1.compile(optimizers.RMSprop(0.01), "categorical_crossentropy")
    c2.compile(optimizers.RMSprop(0.01), "categorical_crossentropy")
    assert c1.train_on_batch(x, onehot, class_weight=table) == c2.train_on_batch(
        x, onehot, sample_weight=np.array([table[c] for c in labels]))
    with pytest.raises(ValueError, match="`class_weight`"):
        classifier().fit(x, labels, class_weight={0: 1.0, 1: 2.0}, verbose=0)     # class 2 has no weight


def test_history_names_as_keras_2():
    x, y = data()
    m = model(metrics=["mae", "acc", metrics.MeanSquaredError(), metrics.mean_absolute_error],
              weighted_metrics=["mse"])
    history = m.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert list(history.history) == ["loss", "mae", "acc", "mean_squared_error", "mean_absolute_error",
                                     "weighted_mse", "val_loss", "val_mae", "val_acc", "val_mean_squared_error",
                                     "val_mean_absolute_error", "val_weighted_mse"]
    assert history.history["mean_absolute_error"] == history.history["mae"]


def test_stop_training_in_on_train_batch_end_stops_at_that_batch():
    x, y = data()
    steps = []

    class StopAtThird(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)
            if batch == 2:
                self.model.stop_training = True
    history = model().fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[StopAtThird()])
    assert steps == [0, 1, 2] and len(history.history["loss"]) == 1


def test_evaluate_and_validation_take_sample_weights():
    # Over batches the epoch loss is sum_b(loss_b n_b) / N = sum(s_i l_i) / N, stated in advance.
    x, y = data()
    sw = np.random.default_rng(3).uniform(0, 2, len(x))
    m = model()
    per_sample = ((m.predict(x, verbose=0).astype(np.float64) - y) ** 2)[:, 0]
    assert m.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0) == pytest.approx(
        np.sum(sw * per_sample) / len(x), rel=1e-5)
    history = m.fit(x[:8], y[:8], epochs=1, verbose=0, validation_data=(x, y, sw), shuffle=False)
    per_sample = ((m.predict(x, verbose=0).astype(np.float64) - y) ** 2)[:, 0]
    assert history.history["val_loss"][0] == pytest.approx(np.sum(sw * per_sample) / len(x), rel=1e-5)


def test_fit_on_a_timeseries_dataset():
    from rnnkit.utils import timeseries_dataset_from_array
    series = np.sin(np.arange(300) / 7.0).astype("float32")[:, None]
    train = timeseries_dataset_from_array(series[:-5], series[5:, 0], sequence_length=5, batch_size=32)
    set_random_seed(0)
    m = Sequential([SimpleRNN(8, input_shape=(5, 1)), Dense(1)])
    m.compile(optimizers.Adam(0.01), "mse")
    history = m.fit(train, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    assert m.predict(train, verbose=0).shape == (291, 1)


def test_a_dataset_cut_short_by_steps_per_epoch_goes_on_where_it_stopped():
    # tf.data's rule (DatasetAdapter.should_recreate_iterator): with steps_per_epoch other than its
    # length, a dataset is not restarted at each epoch. 2 epochs of 2 steps over 4 batches = 1 pass.
    x, y = data()

    class Dataset:
        def __len__(self):
            return 4

        def __iter__(self):
            return batches(x, y, 8)
    one_pass = model()
    one_pass.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    cut = model()
    cut.fit(Dataset(), steps_per_epoch=2, epochs=2, verbose=0)
    for a, b in zip(one_pass.get_weights(), cut.get_weights()):
        np.testing.assert_array_equal(a, b)
    restarted = model()
    restarted.fit(Dataset(), steps_per_epoch=4, epochs=1, verbose=0)       # its length: a fresh pass
    for a, b in zip(one_pass.get_weights(), restarted.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_class_weight_leaves_the_validation_split_unweighted():
    # tf_keras splits (x, y, sample_weight) first and weights only the training part by class.
    x, _ = data()
    labels = (x[:, 0, 0] > 0).astype(int)

    def classifier():
        set_random_seed(4)
        c = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(2, activation="softmax")])
        c.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        return c
    weighted = classifier().fit(x, labels, class_weight={0: 1.0, 1: 5.0}, validation_split=0.25, epochs=1,
                                shuffle=False, verbose=0)
    by_hand = classifier()
    plain = by_hand.fit(x[:24], labels[:24], sample_weight=np.where(labels[:24] == 1, 5.0, 1.0),
                        validation_data=(x[24:], labels[24:]), epochs=1, shuffle=False, verbose=0)
    assert weighted.history == plain.history
