"""Every layer declares where Keras keeps its weights (`keras_weight_groups(config)`), and
`saving/` asks the layer only. Property stated in advance, for a representative config of every
registered class: the declared weights are the built layer's, same count and same names in order
(a weight's name is the last part of its key: `forward/kernel`, `cells/1/bias`)."""

import pytest

from rnnkit import layers as L
from rnnkit.layers import _REGISTRY, get_class, serialize
from rnnkit.layers.base import KerasWeightGroup
from rnnkit.saving import keras_weights

SEQ, VEC = (None, 5, 4), (None, 4)


def _cells():
    return [L.SimpleRNNCell(2), L.GRUCell(3, reset_after=False), L.LSTMCell(2, use_bias=False)]


# class name -> [(make the layer, the input shape it is built for)]; several configs where an
# argument changes the weights.
REPRESENTATIVE = {
    "InputLayer": [(lambda: L.InputLayer(input_shape=(5, 4)), None)],
    "Dense": [(lambda: L.Dense(3), SEQ), (lambda: L.Dense(3, use_bias=False), VEC)],
    "Embedding": [(lambda: L.Embedding(10, 3), (None, 5))],
    "Conv1D": [(lambda: L.Conv1D(3, 2), SEQ), (lambda: L.Conv1D(3, 2, use_bias=False), SEQ)],
    "SeparableConv1D": [(lambda: L.SeparableConv1D(3, 2, depth_multiplier=2), SEQ),
                        (lambda: L.SeparableConv1D(3, 2, use_bias=False), SEQ)],
    "Conv1DTranspose": [(lambda: L.Conv1DTranspose(3, 2), SEQ), (lambda: L.Conv1DTranspose(3, 2, use_bias=False), SEQ)],
    "ConvLSTM1D": [(lambda: L.ConvLSTM1D(2, 3), (None, 3, 6, 2)),
                   (lambda: L.ConvLSTM1D(2, 3, use_bias=False), (None, 3, 6, 2))],
    "ConvLSTM2D": [(lambda: L.ConvLSTM2D(2, 3), (None, 3, 5, 5, 1))],
    "ConvLSTM3D": [(lambda: L.ConvLSTM3D(2, 2), (None, 2, 3, 3, 3, 1))],
    "BatchNormalization": [(lambda: L.BatchNormalization(), SEQ),
                           (lambda: L.BatchNormalization(center=False, scale=False), SEQ),
                           (lambda: L.BatchNormalization(scale=False), SEQ)],
    "LayerNormalization": [(lambda: L.LayerNormalization(), SEQ), (lambda: L.LayerNormalization(center=False), SEQ),
                           (lambda: L.LayerNormalization(scale=False, center=False), SEQ)],
    "PReLU": [(lambda: L.PReLU(), SEQ), (lambda: L.PReLU(shared_axes=[1]), SEQ)],
    "SimpleRNN": [(lambda: L.SimpleRNN(3), SEQ), (lambda: L.SimpleRNN(3, use_bias=False), SEQ)],
    "LSTM": [(lambda: L.LSTM(3), SEQ), (lambda: L.LSTM(3, use_bias=False), SEQ)],
    "GRU": [(lambda: L.GRU(3), SEQ), (lambda: L.GRU(3, reset_after=False), SEQ),
            (lambda: L.GRU(3, use_bias=False), SEQ)],
    "LayerNormLSTM": [(lambda: L.LayerNormLSTM(3), SEQ), (lambda: L.LayerNormLSTM(3, use_bias=False), SEQ)],
    "RNN": [(lambda: L.RNN(L.LSTMCell(3)), SEQ), (lambda: L.RNN(_cells()), SEQ),
            (lambda: L.RNN(L.StackedRNNCells([L.LSTMCell(2), L.LSTMCell(2)])), SEQ),
            (lambda: L.RNN(L.LayerNormLSTMCell(2, use_bias=False)), SEQ)],
    "SimpleRNNCell": [(lambda: L.SimpleRNNCell(3), VEC), (lambda: L.SimpleRNNCell(3, use_bias=False), VEC)],
    "LSTMCell": [(lambda: L.LSTMCell(3), VEC)],
    "GRUCell": [(lambda: L.GRUCell(3), VEC), (lambda: L.GRUCell(3, reset_after=False), VEC)],
    "LayerNormLSTMCell": [(lambda: L.LayerNormLSTMCell(3), VEC)],
    "StackedRNNCells": [(lambda: L.StackedRNNCells(_cells()), VEC)],
    "Bidirectional": [(lambda: L.Bidirectional(L.LSTM(3)), SEQ),
                      (lambda: L.Bidirectional(L.GRU(2, return_sequences=True),
                                               backward_layer=L.GRU(2, return_sequences=True, go_backwards=True,
                                                                    use_bias=False)), SEQ),
                      (lambda: L.Bidirectional(L.RNN(_cells())), SEQ)],
    "TimeDistributed": [(lambda: L.TimeDistributed(L.Dense(3)), SEQ),
                        (lambda: L.TimeDistributed(L.Dropout(0.5)), SEQ)],
    # layers without weights
    "Masking": [(lambda: L.Masking(), SEQ)], "Dropout": [(lambda: L.Dropout(0.5), SEQ)],
    "SpatialDropout1D": [(lambda: L.SpatialDropout1D(0.5), SEQ)],
    "GaussianNoise": [(lambda: L.GaussianNoise(0.1), SEQ)], "GaussianDropout": [(lambda: L.GaussianDropout(0.1), SEQ)],
    "MaxPooling1D": [(lambda: L.MaxPooling1D(), SEQ)], "AveragePooling1D": [(lambda: L.AveragePooling1D(), SEQ)],
    "GlobalMaxPooling1D": [(lambda: L.GlobalMaxPooling1D(), SEQ)],
    "GlobalAveragePooling1D": [(lambda: L.GlobalAveragePooling1D(), SEQ)],
    "Flatten": [(lambda: L.Flatten(), SEQ)], "Reshape": [(lambda: L.Reshape((4, 5)), SEQ)],
    "Permute": [(lambda: L.Permute((2, 1)), SEQ)], "RepeatVector": [(lambda: L.RepeatVector(2), VEC)],
    "UpSampling1D": [(lambda: L.UpSampling1D(), SEQ)], "ZeroPadding1D": [(lambda: L.ZeroPadding1D(), SEQ)],
    "Cropping1D": [(lambda: L.Cropping1D(), SEQ)], "Activation": [(lambda: L.Activation("tanh"), SEQ)],
    "LeakyReLU": [(lambda: L.LeakyReLU(), SEQ)], "ReLU": [(lambda: L.ReLU(), SEQ)], "ELU": [(lambda: L.ELU(), SEQ)],
    "Softmax": [(lambda: L.Softmax(), SEQ)],
    "Add": [(lambda: L.Add(), [SEQ, SEQ])], "Subtract": [(lambda: L.Subtract(), [SEQ, SEQ])],
    "Multiply": [(lambda: L.Multiply(), [SEQ, SEQ])], "Average": [(lambda: L.Average(), [SEQ, SEQ])],
    "Maximum": [(lambda: L.Maximum(), [SEQ, SEQ])], "Minimum": [(lambda: L.Minimum(), [SEQ, SEQ])],
    "Concatenate": [(lambda: L.Concatenate(), [SEQ, SEQ])], "Dot": [(lambda: L.Dot(axes=-1), [VEC, VEC])],
    "NotEqual": [(lambda: L.NotEqual(), None)], "LogicalOr": [(lambda: L.LogicalOr(), None)],
    "ExpandDims": [(lambda: L.ExpandDims(), None)], "ZerosLike": [(lambda: L.ZerosLike(), None)],
    "Any": [(lambda: L.Any(), None)], "ConcatenateOperation": [(lambda: L.ConcatenateOperation(), None)],
}


def test_every_registered_class_has_a_representative_config():
    assert sorted(set(_REGISTRY) - set(REPRESENTATIVE)) == []


CASES = [(name, k) for name in sorted(REPRESENTATIVE) for k in range(len(REPRESENTATIVE[name]))]


@pytest.mark.parametrize("class_name,index", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_declared_weights_are_the_built_layers(class_name, index):
    make, input_shape = REPRESENTATIVE[class_name][index]
    layer = make()
    assert type(layer).__name__ == class_name
    if input_shape is not None:
        layer.build(input_shape)
    spec = serialize(layer)
    groups = [KerasWeightGroup(*g) for g in get_class(class_name).keras_weight_groups(spec["config"])]
    declared = [weight for group in groups for weight in group.weights]
    assert len(declared) == len(layer.weights)
    assert declared == [key.rsplit("/", 1)[-1] for key in layer.weights]
    # and the files' two namings agree with the declaration: one Keras 2 name per weight, and
    # Keras 3 groups that hold them
    assert len(keras_weights.keras2_weight_names(spec)) == len(layer.weights)
    assert all(path.endswith("vars") for path in keras_weights.keras3_var_groups(spec))


def test_a_class_rnnkit_does_not_know_is_refused_by_name():
    spec = {"class_name": "MyOwnLayer", "config": {"name": "mine"}}
    for ask in (keras_weights.keras2_weight_names, keras_weights.keras3_var_groups):
        with pytest.raises(ValueError, match=r"'MyOwnLayer'.*Received: class_name='MyOwnLayer'"):
            ask(spec)
