"""Models covering every layer kind and option the Keras files must carry (no pytest here, so
that tools/keras_interop.py can use them in an environment with Keras)."""

from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Input, Masking, SimpleRNN, TimeDistributed
from rnnkit.models import Sequential


def every_kind_of_model():
    """One model per layer type and option that the files must carry."""
    return [
        Sequential([Input(shape=(6, 3)), SimpleRNN(4, activation="relu", use_bias=False, go_backwards=True,
                                                   return_sequences=True), TimeDistributed(Dense(2))]),
        Sequential([Embedding(20, 5, mask_zero=True, input_length=7), LSTM(4, unit_forget_bias=False,
                                                                          recurrent_activation="tanh"),
                    Dropout(0.2), Dense(1, activation="sigmoid")]),
        Sequential([Masking(input_shape=(5, 3)), GRU(4, reset_after=False, return_sequences=True),
                    Bidirectional(GRU(3), merge_mode="sum")]),
        Sequential([Bidirectional(LSTM(3, return_sequences=True), merge_mode="ave", input_shape=(5, 2)),
                    Bidirectional(SimpleRNN(2, return_sequences=True),
                                  backward_layer=SimpleRNN(2, return_sequences=True, go_backwards=True,
                                                           activation="sigmoid"), merge_mode="mul"),
                    GRU(2, dropout=0.1, recurrent_dropout=0.2, kernel_initializer="he_uniform")]),
    ]


def sample_input(model, rng):
    shape = (3,) + tuple(7 if d is None else d for d in model.input_shape[1:])
    if isinstance(model.layers[0], Embedding):
        return rng.integers(0, 20, size=shape)
    x = rng.normal(size=shape).astype("float32")
    if isinstance(model.layers[0], Masking):
        x[:, -2:] = 0.0
    return x
