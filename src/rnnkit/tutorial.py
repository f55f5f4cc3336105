"""The seed tutorial (wikidocs.net/22886), run with rnnkit in place of tensorflow.keras.

Each `part_*` function is the tutorial's cells in order, printing what they print.
"""

import numpy as np

import rnnkit
from rnnkit.layers import Bidirectional, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.ops import memory_cell_loop


def heading(text, print_fn=print):
    print_fn("")
    print_fn(f"# {text}")
    print_fn("")


def part_1_keras_rnn(print_fn=print):
    heading("1. Keras-style RNN with rnnkit (케라스로 RNN 구현하기)", print_fn)
    model = Sequential()
    model.add(SimpleRNN(3, input_shape=(2, 10)))
    # model.add(SimpleRNN(3, input_length=2, input_dim=10)) is the same
    model.summary(print_fn=print_fn)

    model = Sequential()
    model.add(SimpleRNN(3, batch_input_shape=(8, 2, 10)))
    model.summary(print_fn=print_fn)

    model = Sequential()
    model.add(SimpleRNN(3, batch_input_shape=(8, 2, 10), return_sequences=True))
    model.summary(print_fn=print_fn)


def part_2_numpy_memory_cell(print_fn=print, seed=0):
    heading("2. The memory cell in NumPy (파이썬으로 RNN 구현하기)", print_fn)
    random = np.random.RandomState(seed)  # fixed, so the printed states are reproducible
    hidden_size = 8  # the size of the hidden state: the memory cell's capacity
    timesteps = 10  # the number of time steps: in NLP, usually the sentence length
    input_dim = 4  # the input size: in NLP, usually the word-vector size

    inputs = random.random_sample((timesteps, input_dim))  # a 2D tensor of inputs
    hidden_state_t = np.zeros((hidden_size,))  # the initial hidden state is zeros
    print_fn(np.shape(inputs))
    print_fn(hidden_state_t)

    Wx = random.random_sample((hidden_size, input_dim))  # (8, 4): weights for the input
    Wh = random.random_sample((hidden_size, hidden_size))  # (8, 8): weights for the hidden state
    b = random.random_sample((hidden_size,))  # (8,): the bias
    print_fn(np.shape(Wx))
    print_fn(np.shape(Wh))
    print_fn(np.shape(b))

    total_hidden_states = memory_cell_loop(inputs, Wx, Wh, b, hidden_state_t, print_fn=print_fn)
    print_fn(total_hidden_states)  # (timesteps, output_dim): here (10, 8)
    return inputs, Wx, Wh, b, total_hidden_states


def part_3_deep_rnn(print_fn=print):
    heading("3. Deep RNN (깊은 순환 신경망)", print_fn)
    hidden_size = 8
    model = Sequential()
    model.add(SimpleRNN(hidden_size, input_length=10, input_dim=5, return_sequences=True))
    model.add(SimpleRNN(hidden_size, return_sequences=True))
    model.summary(print_fn=print_fn)


def part_4_bidirectional_rnn(print_fn=print):
    heading("4. Bidirectional RNN (양방향 순환 신경망)", print_fn)
    hidden_size, timesteps, input_dim = 8, 10, 5
    model = Sequential()
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True), input_shape=(timesteps, input_dim)))
    model.summary(print_fn=print_fn)

    model = Sequential()
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True), input_shape=(timesteps, input_dim)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    model.summary(print_fn=print_fn)
    return model


def part_5_training(print_fn=print, seed=0, epochs=8, verbose=1):
    heading("5. Training the deep bidirectional RNN (rnnkit's hand-derived BPTT)", print_fn)
    from rnnkit.layers import Dense, TimeDistributed
    from rnnkit.optimizers import Adam
    from rnnkit.utils import set_random_seed

    set_random_seed(seed)
    hidden_size, timesteps, input_dim = 8, 10, 5
    # The task needs both directions: at every step, predict the mean of feature 0 over the
    # whole sequence, past and future.
    random = np.random.RandomState(seed)
    x = random.uniform(-1, 1, size=(1024, timesteps, input_dim)).astype("float32")
    y = np.repeat(x[:, :, :1].mean(axis=1, keepdims=True), timesteps, axis=1)

    model = Sequential()
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True), input_shape=(timesteps, input_dim)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    model.add(TimeDistributed(Dense(1)))
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    history = model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.2, verbose=verbose)
    losses = ", ".join(f"{value:.4f}" for value in history.history["loss"])
    print_fn(f"loss by epoch: {losses}")
    print_fn(f"(always predicting 0 would score {np.mean(y ** 2):.4f})")
    return history


def run(print_fn=print, seed=0):
    """All parts in the tutorial's order, in a fresh naming session (`sequential`, ...)."""
    rnnkit.backend.clear_session()
    print_fn(f"rnnkit {rnnkit.__version__}")
    part_1_keras_rnn(print_fn)
    part_2_numpy_memory_cell(print_fn, seed=seed)
    part_3_deep_rnn(print_fn)
    part_4_bidirectional_rnn(print_fn)
    part_5_training(print_fn, seed=seed)
