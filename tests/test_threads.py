"""Inference on one model from several threads gives exactly the one-thread results.

The layers reuse buffers between calls (`ops.sequence.buffer`); before they were per thread, two
threads predicting at once wrote into each other's buffers (errors up to 1.95). Each test here
first computes every batch's output in one thread, then has N threads run the SAME model on
different batches at once, many times over, and requires bitwise equality (np.array_equal).
"""

import copy
import sys
import threading

import numpy as np
import pytest

from rnnkit import callbacks
from rnnkit.layers import (GRU, LSTM, RNN, Bidirectional, Dense, Embedding, GRUCell, LayerNormLSTM, LSTMCell,
                           SimpleRNN)
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed

N_THREADS = 4
ROUNDS = 6
T, D = 24, 8


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    """Python hands the GIL over every 5 ms by default; switching far more often makes the threads
    interleave inside each call, where shared buffers would clash (makes the old bug show)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def build(name):
    set_random_seed(0)
    makers = {
        "simple_rnn": lambda: [SimpleRNN(48, input_shape=(T, D))],
        "lstm": lambda: [LSTM(48, input_shape=(T, D)), Dense(3)],
        "gru": lambda: [GRU(48, return_sequences=True, input_shape=(T, D))],
        "bidirectional": lambda: [Bidirectional(LSTM(32, return_sequences=True), input_shape=(T, D)), Dense(2)],
        "stacked": lambda: [GRU(32, return_sequences=True, input_shape=(T, D)),
                            Bidirectional(SimpleRNN(16, return_sequences=True), merge_mode="sum"),
                            LSTM(24), Dense(4, activation="softmax")],
        "stacked_cells": lambda: [RNN([LSTMCell(24), GRUCell(16)], return_sequences=True, input_shape=(T, D))],
        "layer_norm_lstm": lambda: [LayerNormLSTM(24, input_shape=(T, D)), Dense(2)],
    }
    model = Sequential(makers[name]())
    model.compile("adam", "mse")
    return model


def batches(count, seed=0):
    """Different values, mostly of one shape: buffers are reused only for the same shape, so that
    is where shared ones would clash (one batch in four has another size)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(8 if i % 4 == 3 else 12, T, D)).astype("float32") for i in range(count)]


def run_threads(work):
    """Runs work(i) in N threads started together; re-raises the first error."""
    barrier = threading.Barrier(N_THREADS)
    errors = []

    def target(i):
        try:
            barrier.wait()
            work(i)
        except BaseException as error:  # reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(N_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("name", ["simple_rnn", "lstm", "gru", "bidirectional", "stacked", "stacked_cells",
                                  "layer_norm_lstm"])
def test_predict_from_threads_equals_one_thread(name):
    model = build(name)
    xs = batches(3 * N_THREADS)
    expected = [model.predict(x, verbose=0) for x in xs]
    got = [[None] * ROUNDS for _ in xs]

    def work(i):
        for r in range(ROUNDS):
            for k in range(i, len(xs), N_THREADS):
                got[k][r] = model.predict(xs[k], verbose=0)

    run_threads(work)
    for k, want in enumerate(expected):
        for r in range(ROUNDS):
            assert np.array_equal(got[k][r], want), (k, r, np.max(np.abs(got[k][r] - want)))


@pytest.mark.parametrize("name", ["lstm", "stacked"])
def test_call_predict_on_batch_evaluate_test_on_batch_from_threads(name):
    model = build(name)
    xs = batches(N_THREADS, seed=1)
    ys = [np.random.default_rng(k).normal(size=model.output_shape_for(x.shape)) for k, x in enumerate(xs)]
    want_call = [model(x) for x in xs]
    want_batch = [model.predict_on_batch(x) for x in xs]
    want_eval = [model.evaluate(x, y, verbose=0, batch_size=5) for x, y in zip(xs, ys)]
    want_test = [model.test_on_batch(x, y) for x, y in zip(xs, ys)]
    failures = []

    def work(i):
        for _ in range(ROUNDS):
            if not np.array_equal(model(xs[i]), want_call[i]):
                failures.append(("__call__", i))
            if not np.array_equal(model.predict_on_batch(xs[i]), want_batch[i]):
                failures.append(("predict_on_batch", i))
            if model.evaluate(xs[i], ys[i], verbose=0, batch_size=5) != want_eval[i]:
                failures.append(("evaluate", i))
            if model.test_on_batch(xs[i], ys[i]) != want_test[i]:
                failures.append(("test_on_batch", i))

    run_threads(work)
    assert failures == []


def test_masked_embedding_model_from_threads():
    set_random_seed(0)
    model = Sequential([Embedding(20, 8, mask_zero=True), LSTM(48, return_sequences=True), Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    rng = np.random.default_rng(3)
    xs = []
    for i in range(N_THREADS):
        ids = rng.integers(1, 20, size=(8, 15))
        ids[:, 10 - i:] = 0       # padding of a different length per thread: different masks
        xs.append(ids)
    ys = [rng.normal(size=(len(x), 15, 1)) for x in xs]
    want = [(model.predict(x, verbose=0), model.evaluate(x, y, verbose=0)) for x, y in zip(xs, ys)]
    failures = []

    def work(i):
        for _ in range(5 * ROUNDS):         # small batches: more rounds to overlap as often
            out, scores = model.predict(xs[i], verbose=0), model.evaluate(xs[i], ys[i], verbose=0)
            if not (np.array_equal(out, want[i][0]) and scores == want[i][1]):
                failures.append(i)

    run_threads(work)
    assert failures == []


def test_training_is_one_thread_at_a_time_and_refused_clearly():
    model = build("lstm")
    x = batches(1)[0]
    y = np.zeros((len(x), 3))
    inside, release = threading.Event(), threading.Event()

    class Hold(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            inside.set()
            assert release.wait(10)

    result = {}
    trainer = threading.Thread(target=lambda: result.update(
        history=model.fit(x, y, epochs=1, batch_size=len(x), verbose=0, callbacks=[Hold()])))
    trainer.start()
    try:
        assert inside.wait(10)
        before = model.get_weights()
        for call in (lambda: model.fit(x, y, verbose=0), lambda: model.train_on_batch(x, y),
                     lambda: model.predict(x, verbose=0), lambda: model(x),
                     lambda: model.evaluate(x, y, verbose=0), lambda: model.set_weights(before)):
            with pytest.raises(RuntimeError, match="another thread.*Received"):
                call()
    finally:
        release.set()
        trainer.join()
    assert "history" in result          # the first fit finished normally
    model.predict(x, verbose=0)         # and the model is usable again from any thread


def test_fit_is_refused_while_another_thread_predicts():
    model = build("lstm")
    x = batches(1)[0]
    y = np.zeros((len(x), 3))
    inside, release = threading.Event(), threading.Event()

    class Hold(callbacks.Callback):
        def on_predict_batch_begin(self, batch, logs=None):
            inside.set()
            assert release.wait(10)

    reader = threading.Thread(target=lambda: model.predict(x, verbose=0, callbacks=[Hold()]))
    reader.start()
    try:
        assert inside.wait(10)
        before = model.get_weights()
        for call in (lambda: model.fit(x, y, verbose=0), lambda: model.train_on_batch(x, y), model.pop,
                     lambda: model.add(Dense(2)), lambda: model.compile("sgd", "mae")):
            with pytest.raises(RuntimeError, match="other thread.*inference.*Received"):
                call()
        assert len(model.layers) == 2 and model.loss.name == "mean_squared_error"
        for old, new in zip(before, model.get_weights()):
            assert np.array_equal(old, new)
        model.predict(x, verbose=0)      # inference beside inference is fine
    finally:
        release.set()
        reader.join()


def test_a_callback_may_predict_inside_fit_in_the_same_thread():
    model = build("gru")
    x = batches(1)[0]
    seen = []
    probe = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.predict(x, verbose=0)))
    model.fit(x, np.zeros((len(x), T, 48)), epochs=2, verbose=0, callbacks=[probe])
    assert len(seen) == 2 and not np.array_equal(seen[0], seen[1])


def test_copies_of_a_model_get_their_own_buffers_and_guard():
    model = build("bidirectional")
    x = batches(1)[0]
    twin = copy.deepcopy(model)
    assert np.array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))
    assert twin._guard is not model._guard


def test_inference_leaves_a_pending_training_cache_alone():
    # Another thread's predict between a training forward and its backward must not drop the
    # cache the backward needs (inference writes nothing of a layer's).
    model = build("stacked")
    x = batches(1)[0]
    output = model._run(x, training=True)[0]
    reader = threading.Thread(target=lambda: model.predict(batches(1, seed=5)[0], verbose=0))
    reader.start()
    reader.join()
    model._backward(np.ones_like(output))
    grads = [layer.grads[k] for layer in model.layers for k in layer.weights]
    assert len(grads) == sum(len(layer.weights) for layer in model.layers)
    assert all(np.isfinite(g).all() and g.shape == w.shape
               for g, w in zip(grads, [w for layer in model.layers for w in layer.weights.values()]))
