"""Metric classes: Keras's docstring examples (numbers Keras printed), and confusion metrics
against an independent reference (counts from sorted predictions and cumulative weights, the
PR curve integrated numerically) on random data."""

import numpy as np
import pytest

from rnnkit import metrics


@pytest.mark.parametrize("metric,args,expected,weighted", [
    (metrics.BinaryAccuracy(), ([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]), 0.75, ([1, 0, 0, 1], 0.5)),
    (metrics.CategoricalAccuracy(), ([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), 0.5,
     ([0.7, 0.3], 0.3)),
    (metrics.SparseCategoricalAccuracy(), ([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]), 0.5, ([0.7, 0.3], 0.3)),
    (metrics.TopKCategoricalAccuracy(k=1), ([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), 0.5,
     ([0.7, 0.3], 0.3)),
    (metrics.SparseTopKCategoricalAccuracy(k=1), ([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), 0.5,
     ([0.7, 0.3], 0.3)),
    (metrics.MeanAbsoluteError(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 0.25, ([1, 0], 0.5)),
    (metrics.MeanSquaredError(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 0.25, ([1, 0], 0.5)),
    (metrics.RootMeanSquaredError(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 0.5, ([1, 0], 0.70710677)),
    (metrics.MeanAbsolutePercentageError(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 250000000.0,
     ([1, 0], 500000000.0)),
    (metrics.Precision(), ([0, 1, 1, 1], [1, 0, 1, 1]), 2 / 3, ([0, 0, 1, 0], 1.0)),
    (metrics.Recall(), ([0, 1, 1, 1], [1, 0, 1, 1]), 2 / 3, ([0, 0, 1, 0], 1.0)),
])
def test_keras_docstring_examples(metric, args, expected, weighted):
    metric.update_state(*args)
    assert metric.result() == pytest.approx(expected, rel=1e-6)
    metric.reset_state()
    metric.update_state(*args, sample_weight=weighted[0])
    assert metric.result() == pytest.approx(weighted[1], rel=1e-6)
    metric.reset_states()                        # Keras 2's name
    assert metric.result() == 0.0


def test_mean_and_call():
    m = metrics.Mean()
    assert m([1, 3, 5, 7]) == 4.0                  # __call__ updates and returns the result
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 2.0 and m.name == "mean"


def test_auc_keras_example_and_precision_top_k():
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result() == pytest.approx(0.75)
    assert metrics.AUC().thresholds[1] == pytest.approx(1 / 199) and len(metrics.AUC().thresholds) == 200
    p = metrics.Precision(top_k=2)      # Keras: over the first two entries (top_k breaks ties by index)
    p.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert p.result() == 0.0
    p = metrics.Precision(top_k=4)
    p.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert p.result() == 0.5
    r = metrics.Recall(class_id=1, thresholds=[0.3, 0.7])
    r.update_state([[0, 1], [0, 1], [1, 0]], [[0.4, 0.6], [0.1, 0.9], [0.5, 0.5]])
    assert r.result() == [1.0, 0.5]


def test_f1_keras_example_and_averages():
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    f1 = metrics.F1Score(threshold=0.5)
    f1.update_state(y_true, y_pred)
    np.testing.assert_allclose(f1.result(), [0.5, 0.8, 0.6666667], rtol=1e-5)
    macro = metrics.F1Score(average="macro", threshold=0.5)
    macro.update_state(y_true, y_pred)
    assert macro.result() == pytest.approx(np.mean([0.5, 0.8, 2 / 3]), rel=1e-5)
    micro = metrics.F1Score(average="micro", threshold=0.5)
    micro.update_state(y_true, y_pred)
    tp, fp, fn = 4, 2, 2                  # counted by hand from the arrays above
    assert micro.result() == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-5)


def reference_counts(labels, scores, weights, thresholds):
    """tp, fp, fn, tn at each threshold (score > t) from sorted scores and cumulative weights."""
    order = np.argsort(scores)
    s, pos, w = scores[order], labels[order].astype(bool), weights[order]
    cum_pos = np.concatenate([[0], np.cumsum(w * pos)])
    cum_neg = np.concatenate([[0], np.cumsum(w * ~pos)])
    at = np.searchsorted(s, thresholds, side="right")        # how many scores are <= t
    fn, tn = cum_pos[at], cum_neg[at]
    return cum_pos[-1] - fn, cum_neg[-1] - tn, fn, tn


def pr_area_numerically(tp, fp, fn):
    """Davis & Goadrich: between two thresholds tp and fp move linearly together; integrate
    precision over recall with a fine midpoint rule."""
    positives = tp[0] + fn[0]
    area = 0.0
    for i in range(len(tp) - 1):
        if tp[i] == tp[i + 1] or tp[i + 1] + fp[i + 1] == 0 and tp[i] + fp[i] == 0:
            continue
        u = (np.arange(2000) + 0.5) / 2000
        t = tp[i + 1] + u * (tp[i] - tp[i + 1])
        f = fp[i + 1] + u * (fp[i] - fp[i + 1])
        precision = np.where(t + f > 0, t / np.maximum(t + f, 1e-300), 0.0)
        area += np.mean(precision) * (tp[i] - tp[i + 1]) / positives
    return area


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_metrics_against_an_independent_reference(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 400)
    scores = np.clip(0.3 * labels + rng.uniform(0, 0.7, 400), 0, 1).round(3)     # ties included
    weights = rng.uniform(0, 2, 400)
    roc, pr = metrics.AUC(), metrics.AUC(curve="PR")
    for part in np.array_split(np.arange(400), 3):                              # state adds up
        roc.update_state(labels[part], scores[part], sample_weight=weights[part])
        pr.update_state(labels[part], scores[part], sample_weight=weights[part])
    thresholds = roc.thresholds
    tp, fp, fn, tn = reference_counts(labels, scores, weights, thresholds)
    np.testing.assert_allclose(roc.true_positives, tp, rtol=1e-10)
    np.testing.assert_allclose(roc.false_positives, fp, rtol=1e-10)
    tpr, fpr = tp / (tp + fn), fp / (fp + tn)
    assert roc.result() == pytest.approx(getattr(np, "trapezoid", getattr(np, "trapz", None))(tpr[::-1], fpr[::-1]), rel=1e-9)
    # And close to the exact (weighted Mann-Whitney) AUC that 200 thresholds approximate.
    pos, neg = labels == 1, labels == 0
    wins = (scores[pos][:, None] > scores[neg][None, :]) + 0.5 * (scores[pos][:, None] == scores[neg][None, :])
    exact = np.sum(weights[pos][:, None] * weights[neg][None, :] * wins) / (weights[pos].sum() * weights[neg].sum())
    assert roc.result() == pytest.approx(exact, abs=0.01)
    assert pr.result() == pytest.approx(pr_area_numerically(tp, fp, fn), rel=1e-4)
    for t in (0.3, 0.5, 0.8):
        p, r = metrics.Precision(thresholds=t), metrics.Recall(thresholds=t)
        p.update_state(labels, scores, sample_weight=weights)
        r.update_state(labels, scores, sample_weight=weights)
        tp1, fp1, fn1, _ = reference_counts(labels, scores, weights, np.array([t]))
        assert p.result() == pytest.approx(tp1[0] / (tp1[0] + fp1[0]), rel=1e-10)
        assert r.result() == pytest.approx(tp1[0] / (tp1[0] + fn1[0]), rel=1e-10)


def test_metric_lookup_and_errors():
    assert isinstance(metrics.get("AUC"), metrics.AUC) and metrics.get("auc").name == "auc"
    assert metrics.get("mae").name == "mae" and metrics.get(metrics.mean_absolute_error).name == "mean_absolute_error"
    with pytest.raises(ValueError, match="unknown metric.*Received: 'maee'"):
        metrics.get("maee")
    with pytest.raises(ValueError, match="`curve`"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="`num_thresholds`"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="`y_pred`.*Received"):
        metrics.AUC().update_state([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="`thresholds`"):
        metrics.Precision(thresholds=1.5)


def test_metric_objects_in_fit_and_evaluate():
    from rnnkit.layers import Dense, SimpleRNN
    from rnnkit.models import Sequential
    from rnnkit.utils import set_random_seed
    set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4, 2)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("float32")[:, None]
    model = Sequential([SimpleRNN(4, input_shape=(4, 2)), Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=[metrics.AUC(), metrics.Precision(), "recall"])
    history = model.fit(x, y, epochs=2, batch_size=10, verbose=0)
    assert {"auc", "precision", "recall"} <= set(history.history)
    loss, auc, precision, recall = model.evaluate(x, y, verbose=0)
    reference = metrics.AUC()
    reference.update_state(y, model.predict(x, verbose=0))
    assert auc == pytest.approx(reference.result(), rel=1e-9)


def test_losses_take_sample_weight_as_keras():
    from rnnkit import losses
    # Keras's docstring: MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [1, 0]], sample_weight=[0.7, 0.3]) = 0.25
    mse = losses.MeanSquaredError()
    assert mse([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]) == pytest.approx(0.5)
    assert mse([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]], sample_weight=[0.7, 0.3]) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="`sample_weight`.*Received"):
        mse([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]], sample_weight=[1.0, 2.0, 3.0])
