"""The training runs that test_data_parallel.py compares between N ranks and one process.

Run by the tests under mpiexec (`mpiexec -n N python mpi_cases.py OUT FIXTURES [fault]`): every rank
runs every case with `rnnkit.distribute.MPIDataParallel()` active and pickles what it got to
OUT/rank<r>.pickle. The tests call the same functions in their own process, without a strategy,
for the single-process reference. A case returns plain data: weights, history, error messages.
"""

import json
import pathlib
import pickle
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "training")]

from rnnkit import backend, callbacks, optimizers  # noqa: E402
from rnnkit.layers import GRU, BatchNormalization, Dense, Embedding, LSTM  # noqa: E402
from rnnkit.models import Sequential, load_model, model_from_json  # noqa: E402

# Keras's recorded runs replayed as fit: one batch of the whole recorded x per epoch, `steps` epochs,
# so data-parallel fit must land on Keras's own final weights. Masks (Masking gaps, Embedding
# mask_zero with sequence and last outputs), sample and class weights, a schedule with weight decay,
# clipping after the reduction, penalties, two inputs; SGD, Adam, RMSprop, AdamW, Nadam, Adamax.
KERAS_RUNS = ["train/adam_masking_gaps_gru_reset_before_seq", "train/rmsprop_masking_gaps_lstm_last",
              "train/adam_clip_embedding_mask_gru_sparse", "train/sgd_momentum_nesterov_clipnorm_seq",
              "train/rmsprop_global_clipnorm_binds_bidir_ave", "train_graph/sample_weight_gru_sgd",
              "train_graph/class_weight_lstm_rmsprop", "train_graph/adamw_exponential_decay_lstm",
              "train_graph/conv1d_maxpool_lstm_nadam", "train_graph/gru_layernorm_adamax",
              "train_graph/regularized_lstm_activity_adam", "train_graph/seq2seq_gru_tokens_masked_loss_adam"]
OPTIMIZERS = ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam", "adamax", "adadelta", "ftrl", "lion"]
BATCHNORM_RUN = "train_graph/lstm_batchnorm_sgd_momentum"


def keras_run(fixtures, name):
    """A recorded run: (model compiled as recorded with w0, fit arguments, recorded final weights)."""
    folder, stem = name.split("/")
    spec = json.loads((fixtures / folder / f"{stem}.json").read_text())
    data = np.load(fixtures / folder / f"{stem}.npz")
    count = len(spec["weight_shapes"])
    if folder == "train":
        from test_keras_replay import build_layer
        model = Sequential([build_layer(layer, first=(i == 0)) for i, layer in enumerate(spec["layers"])])
        x, y, kwargs = data["x"], data["y"], {}
    else:
        model = model_from_json(json.dumps(spec["model"]))
        inputs = [data[f"x{i}"] for i in range(len(model.inputs))]
        x, y = (inputs if len(inputs) > 1 else inputs[0]), data["y0"]
        kwargs = {"sample_weight": data["sw0"]} if "sw0" in data.files else {}
    model.set_weights([data[f"w0_{i}"] for i in range(count)])
    model.compile(optimizer=optimizers.get(spec["optimizer"]), loss=spec["loss"])
    fit = dict(x=x, y=y, batch_size=len(y), epochs=spec["steps"],
               shuffle=False, verbose=0, **kwargs)
    return model, fit, [data[f"w1_{i}"] for i in range(count)]


def run_keras(fixtures, name):
    model, fit, _ = keras_run(fixtures, name)
    history = model.fit(**fit)
    return {"weights": model.get_weights(), "loss": history.history["loss"]}


def token_data(samples=13, steps=6, vocabulary=12, seed=3):
    """Token rows with zero padding of random length (masked by Embedding(mask_zero=True)) and
    per-step class targets; validation rows too."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocabulary, (samples, steps))
    for row, keep in zip(x, rng.integers(1, steps + 1, samples)):
        row[keep:] = 0
    y = rng.integers(0, 3, (samples, steps))
    return x, y, (x[:4], y[:4])


def run_optimizer(name, ranks_seed=7):
    """A masked GRU over 13 samples in shuffled batches of 5 (shards of 2 and 3, or 1, 2 and 2,
    with different numbers of unmasked steps), two epochs, accuracy and validation logged."""
    backend.clear_session()
    backend.set_random_seed(ranks_seed)
    model = Sequential([Embedding(12, 4, mask_zero=True), GRU(6, return_sequences=True),
                        Dense(3, activation="softmax")])
    model.compile(optimizer=name, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y, validation = token_data()
    history = model.fit(x, y, batch_size=5, epochs=2, validation_data=validation, verbose=0)
    return {"weights": model.get_weights(), "history": history.history,
            "optimizer": model.optimizer.get_variables("tf_keras")}


def run_batchnorm(fixtures):
    """One step of the recorded BatchNormalization run on the whole batch."""
    model, fit, _ = keras_run(fixtures, BATCHNORM_RUN)
    model.fit(**dict(fit, epochs=1))
    return {"weights": model.get_weights()}


def checkpoint_data():
    rng = np.random.default_rng(11)
    return rng.normal(size=(14, 5, 3)).astype("float32"), rng.normal(size=(14, 2)).astype("float32")


def checkpoint_model():
    backend.clear_session()
    backend.set_random_seed(5)
    model = Sequential([LSTM(4, input_shape=(5, 3)), Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def run_checkpoint_write(out):
    """Two epochs on N ranks; rank 0 alone writes the checkpoint and the CSV log."""
    x, y = checkpoint_data()
    model = checkpoint_model()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(out / "checkpoint.keras"), save_weights_only=False),
                         callbacks.CSVLogger(str(out / "log.csv"))])
    return {"weights": model.get_weights()}


def run_checkpoint_resume(path):
    """Epochs 3 and 4 from the checkpoint another rank count wrote."""
    x, y = checkpoint_data()
    model = load_model(str(path))
    model.fit(x, y, batch_size=4, epochs=4, initial_epoch=2, shuffle=False, verbose=0)
    return {"weights": model.get_weights()}


def run_reference_checkpoint():
    x, y = checkpoint_data()
    model = checkpoint_model()
    model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0)
    return {"weights": model.get_weights()}


def error_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the message is what the test reads
        return f"{type(error).__name__}: {error}"
    return None


def refusals(rank, size):
    """What fit refuses on every rank: a batch smaller than the rank count, a stateful model, a
    bad argument on one rank only (the others must raise too, naming it)."""
    x, y = checkpoint_data()
    found = {}
    model = checkpoint_model()
    found["small_batch"] = error_of(lambda: model.fit(x, y, batch_size=size - 1, verbose=0)) if size > 1 else None
    stateful = Sequential([LSTM(2, stateful=True, batch_input_shape=(4, 5, 3)), Dense(2)])
    stateful.compile(optimizer="sgd", loss="mse")
    found["stateful"] = error_of(lambda: stateful.fit(x[:12], y[:12], batch_size=4, verbose=0))
    found["one_rank_bad"] = error_of(lambda: model.fit(x, y, batch_size=4, verbose=0,
                                                       epochs=-1 if rank == size - 1 else 1))
    found["weights_after_refusals"] = model.get_weights()
    return found


class _RaiseOnLastRank(callbacks.Callback):
    def __init__(self, rank, size):
        super().__init__()
        self.rank, self.size = rank, size

    def on_train_batch_end(self, batch, logs=None):
        if self.rank == self.size - 1 and batch == 1:
            raise RuntimeError("deliberate failure on the last rank")


def main(out, fixtures, mode="cases"):
    from rnnkit import distribute
    strategy = distribute.MPIDataParallel()
    rank, size = strategy.rank, strategy.num_processes
    out, fixtures = pathlib.Path(out), pathlib.Path(fixtures)
    if mode == "fault":
        x, y = checkpoint_data()
        model = checkpoint_model()
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[_RaiseOnLastRank(rank, size)])
        print("fit returned on a rank: the fault did not stop the job", flush=True)
        return
    results = {"keras": {name: run_keras(fixtures, name) for name in KERAS_RUNS},
               "optimizers": {name: run_optimizer(name) for name in OPTIMIZERS},
               "batchnorm": run_batchnorm(fixtures), "refusals": refusals(rank, size)}
    if size == 2:
        results["checkpoint"] = run_checkpoint_write(out)
    if size == 3:
        results["resumed"] = run_checkpoint_resume(out.parent / "ranks2" / "checkpoint.keras")
    with open(out / f"rank{rank}.pickle", "wb") as handle:
        pickle.dump(results, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
