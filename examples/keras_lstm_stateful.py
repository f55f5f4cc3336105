"""Keras 2's `lstm_stateful.py`: a stateful LSTM against its stateless counterpart, ported to rnnkit.

Original: keras-team/keras, examples/lstm_stateful.py (Keras 2.2). The input is uniform noise,
the target its moving average over `tsteps` points; each sample shows the LSTM only `lahead`
points. With lahead < tsteps only the stateful model, which carries its state from batch to batch
(`batch_size` fixed, `shuffle=False`, `reset_states()` after each pass), can see far enough back:
the stateless one cannot do better than predicting x_t / 2, whose mean squared error is
E[(x_{t-1} / 2)^2] = 0.1^2 / 12 = 0.00083 for tsteps = 2. The program keeps the original's model,
calls and order; its comments are shortened.

What was changed, and nothing else:

* Imports: `from keras.models import Sequential` / `from keras.layers import Dense, LSTM` ->
  the same names from `rnnkit.models` / `rnnkit.layers`.
* pandas and matplotlib are not rnnkit's dependencies: the data preparation is written with
  NumPy (`DataFrame.rolling(window=tsteps).mean()` -> `rolling_mean`, `.shift(i)` ->
  `shifted`, the `.head()`/`.tail()` prints -> slices), and the plots are left out.
* Sizes: epochs 10 -> 2 (input_len stays 1000, batch_size stays 1).
* Added: `keras.utils.set_random_seed(1986)` beside `np.random.seed(1986)` (weights too are
  drawn the same way each run), and last lines printing both models' test errors.

    python examples/keras_lstm_stateful.py
"""

from __future__ import print_function

import numpy as np

import rnnkit as keras
from rnnkit.models import Sequential
from rnnkit.layers import Dense, LSTM

# ----------------------------------------------------------
# EDITABLE PARAMETERS
# ----------------------------------------------------------

# length of input
input_len = 1000

# The window length of the moving average used to generate
# the output from the input in the input/output pair used
# to train the LSTM
# e.g. if tsteps=2 and input=[1, 2, 3, 4, 5],
#      then output=[1.5, 2.5, 3.5, 4.5]
tsteps = 2

# The input sequence length that the LSTM is trained on for each output point
lahead = 1

# training parameters passed to "model.fit(...)"
batch_size = 1
epochs = 2

# ------------
# MAIN PROGRAM
# ------------

print("*" * 33)
if lahead >= tsteps:
    print("STATELESS LSTM WILL ALSO CONVERGE")
else:
    print("STATELESS LSTM WILL NOT CONVERGE")
print("*" * 33)

np.random.seed(1986)
keras.utils.set_random_seed(1986)

print('Generating Data...')


def gen_uniform_amp(amp=1, xn=10000):
    """Generates uniform random data between
    -amp and +amp
    and of length xn (one column, as the original's DataFrame)
    """
    data_input = np.random.uniform(-1 * amp, +1 * amp, xn)
    return data_input.reshape(-1, 1)


def rolling_mean(column, window):
    """pandas' rolling(window).mean(): NaN until a whole window is there."""
    out = np.full(column.shape, np.nan)
    for t in range(window - 1, len(column)):
        out[t] = column[t - window + 1:t + 1].mean(axis=0)
    return out


def shifted(column, i):
    """pandas' shift(i): the column moved i rows down, NaN on top."""
    return np.concatenate([np.full(i, np.nan), column[:len(column) - i]])


# Since the output is a moving average of the input, the first few points of
# output will be NaN and will be dropped from the generated data before training.
to_drop = max(tsteps - 1, lahead - 1)
data_input = gen_uniform_amp(amp=0.1, xn=input_len + to_drop)

# set the target to be a N-point average of the input
expected_output = rolling_mean(data_input, tsteps)

# when lahead > 1, need to convert the input to "rolling window view"
if lahead > 1:
    data_input = np.repeat(data_input, repeats=lahead, axis=1)
    for i in range(lahead):
        data_input[:, i] = shifted(data_input[:, i], i)

# drop the nan
expected_output = expected_output[to_drop:]
data_input = data_input[to_drop:]

print('Input shape:', data_input.shape)
print('Output shape:', expected_output.shape)
print('Input head: ')
print(data_input[:5])
print('Output head: ')
print(expected_output[:5])


def create_model(stateful: bool):
    model = Sequential()
    model.add(LSTM(20,
              input_shape=(lahead, 1),
              batch_size=batch_size,
              stateful=stateful))
    model.add(Dense(1))
    model.compile(loss='mse', optimizer='adam')
    return model

print('Creating Stateful Model...')
model_stateful = create_model(stateful=True)


# split train/test data
def split_data(x, y, ratio: int = 0.8):
    to_train = int(input_len * ratio)
    # tweak to match with batch_size
    to_train -= to_train % batch_size

    x_train = x[:to_train]
    y_train = y[:to_train]
    x_test = x[to_train:]
    y_test = y[to_train:]

    # tweak to match with batch_size
    to_drop = x.shape[0] % batch_size
    if to_drop > 0:
        x_test = x_test[:-1 * to_drop]
        y_test = y_test[:-1 * to_drop]

    # some reshaping
    reshape_3 = lambda x: x.reshape((x.shape[0], x.shape[1], 1))
    x_train = reshape_3(x_train)
    x_test = reshape_3(x_test)

    reshape_2 = lambda x: x.reshape((x.shape[0], 1))
    y_train = reshape_2(y_train)
    y_test = reshape_2(y_test)

    return (x_train, y_train), (x_test, y_test)


(x_train, y_train), (x_test, y_test) = split_data(data_input, expected_output)
print('x_train.shape: ', x_train.shape)
print('y_train.shape: ', y_train.shape)
print('x_test.shape: ', x_test.shape)
print('y_test.shape: ', y_test.shape)

print('Training')
for i in range(epochs):
    print('Epoch', i + 1, '/', epochs)
    # The last state for sample i in a batch is the initial state for sample i
    # in the next batch.
    model_stateful.fit(x_train,
                       y_train,
                       batch_size=batch_size,
                       epochs=1,
                       verbose=1,
                       validation_data=(x_test, y_test),
                       shuffle=False)
    model_stateful.reset_states()

print('Predicting')
predicted_stateful = model_stateful.predict(x_test, batch_size=batch_size)

print('Creating Stateless Model...')
model_stateless = create_model(stateful=False)

print('Training')
model_stateless.fit(x_train,
                    y_train,
                    batch_size=batch_size,
                    epochs=epochs,
                    verbose=1,
                    validation_data=(x_test, y_test),
                    shuffle=False)

print('Predicting')
predicted_stateless = model_stateless.predict(x_test, batch_size=batch_size)

# drop the first "tsteps-1" because it is not possible to predict them
print('Stateful test MSE:', np.mean(((y_test - predicted_stateful).flatten()[tsteps - 1:]) ** 2))
print('Stateless test MSE:', np.mean((y_test - predicted_stateless).flatten() ** 2))
