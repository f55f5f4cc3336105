"""`import rnnkit as keras` speaks Keras's top-level names, and stays light to import."""

import subprocess
import sys

import rnnkit as keras


def test_keras_spellings_resolve_to_rnnkit_objects():
    from rnnkit.layers import Input
    from rnnkit.models import Sequential, load_model
    assert keras.Sequential is Sequential and keras.Input is Input and keras.models.load_model is load_model
    assert keras.layers.Input is Input
    assert keras.utils.to_categorical([1], 2).tolist() == [[0.0, 1.0]]
    assert callable(keras.utils.set_random_seed) and keras.backend.floatx() == "float32"
    assert keras.preprocessing.sequence.pad_sequences([[1]], maxlen=2).tolist() == [[0, 1]]
    assert keras.preprocessing.text.Tokenizer is not None
    assert keras.saving.FileFormatError.__mro__[1] is ValueError
    for module in ("optimizers", "losses", "metrics", "callbacks", "activations", "initializers"):
        assert getattr(keras, module).__name__ == f"rnnkit.{module}"


def test_the_tutorials_first_model_runs_with_keras_spellings():
    model = keras.Sequential()
    model.add(keras.layers.SimpleRNN(3, input_shape=(2, 10)))
    assert model.output_shape == (None, 3)


def test_import_loads_no_submodule_and_nothing_heavy():
    code = ("import sys, rnnkit; heavy = [m for m in ('h5py', 'rnnkit.layers', 'rnnkit.models', 'mpi4py', "
            "'onnx', 'google.protobuf', 'matplotlib') if m in sys.modules]; print(heavy)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_keras_saving_load_and_save_model_are_the_models_own(tmp_path):
    import numpy as np
    import pytest
    import rnnkit as keras
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(2)])
    path = tmp_path / "m.keras"
    keras.saving.save_model(model, path)
    x = np.ones((1, 3, 2), "float32")
    np.testing.assert_array_equal(keras.saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        keras.saving.save_model(model, path, overwrite=False)
    assert path.read_bytes() == before
