"""Keras 2.0-2.3 module paths that widely copied programs import from (Brownlee's forecasters,
Sterbak's NER tagger, anago): each name is the very class rnnkit.layers exports, so nothing differs
but the spelling of the import."""

import numpy as np
import pytest

import rnnkit.layers as layers

KERAS2_PATHS = {
    "convolutional": ["Conv1D", "MaxPooling1D", "AveragePooling1D", "UpSampling1D", "ZeroPadding1D",
                      "Cropping1D"],
    "core": ["Dense", "Dropout", "Activation", "Flatten", "RepeatVector", "Reshape", "Permute", "Masking",
             "SpatialDropout1D"],
    "embeddings": ["Embedding"],
    "wrappers": ["TimeDistributed", "Bidirectional"],
}


@pytest.mark.parametrize("module, names", sorted(KERAS2_PATHS.items()))
def test_keras2_module_path_names_the_same_classes(module, names):
    imported = __import__(f"rnnkit.layers.{module}", fromlist=names)
    for name in names:
        assert getattr(imported, name) is getattr(layers, name), f"rnnkit.layers.{module}.{name}"


def test_unknown_name_in_convolutional_is_still_an_import_error():
    with pytest.raises(ImportError, match="MaxPooling9D"):
        from rnnkit.layers.convolutional import MaxPooling9D  # noqa: F401


def test_keras2_models_input_builds_a_functional_model():
    # Keras 2.2: `from keras.models import Model, Input`
    from rnnkit.models import Input, Model
    kernel = np.array([[1.0, -2.0], [0.5, 3.0]])
    inputs = Input(shape=(2,))
    outputs = layers.Dense(2, weights=[kernel, np.zeros(2)])(inputs)
    x = np.array([[1.0, 1.0], [2.0, -1.0]])
    np.testing.assert_allclose(Model(inputs, outputs).predict(x, verbose=0), x @ kernel, rtol=1e-6)
