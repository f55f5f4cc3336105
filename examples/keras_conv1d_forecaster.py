"""A Conv1D + LSTM forecaster as TensorFlow's time-series course writes it (a causal Conv1D front
end, two LSTMs, Huber loss, SGD with momentum, windows from `timeseries_dataset_from_array`),
with `import rnnkit as keras`.

Changed from the original, and only this: the series is generated (trend + seasonality + noise,
the course's own recipe) instead of downloaded; it is standardised instead of scaled back by a
final `Lambda(lambda x: x * 400)` (rnnkit refuses a Lambda in training: it has no gradient);
the learning rate is 1e-2 instead of 1e-5 for that scale, and it trains 10 epochs instead of 100.

    python examples/keras_conv1d_forecaster.py
"""

import numpy as np

import rnnkit as keras


def trend(time, slope=0):
    return slope * time


def seasonal_pattern(season_time):
    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), 1 / np.exp(3 * season_time))


def seasonality(time, period, amplitude=1, phase=0):
    season_time = ((time + phase) % period) / period
    return amplitude * seasonal_pattern(season_time)


def noise(time, noise_level=1, seed=None):
    rnd = np.random.RandomState(seed)
    return rnd.randn(len(time)) * noise_level


time = np.arange(4 * 365 + 1, dtype="float32")
series = (10 + trend(time, 0.05) + seasonality(time, period=365, amplitude=40)
          + noise(time, noise_level=5, seed=42)).astype("float32")
split_time = 1000
mean, std = series[:split_time].mean(), series[:split_time].std()
series = (series - mean) / std
x_train, x_valid = series[:split_time], series[split_time:]
window_size, batch_size = 20, 32


def windowed_dataset(values, window_size, batch_size, shuffle):
    # inputs: window_size steps with one feature; target: the step after the window
    return keras.utils.timeseries_dataset_from_array(values[:-1, None], values[window_size:],
                                                     sequence_length=window_size, batch_size=batch_size,
                                                     shuffle=shuffle, seed=0)


keras.utils.set_random_seed(51)
train_set = windowed_dataset(x_train, window_size, batch_size, shuffle=True)
valid_set = windowed_dataset(x_valid, window_size, batch_size, shuffle=False)

model = keras.models.Sequential([
    keras.layers.Conv1D(filters=32, kernel_size=5, strides=1, padding="causal", activation="relu",
                        input_shape=[None, 1]),
    keras.layers.LSTM(32, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
model.compile(loss=keras.losses.Huber(), optimizer=keras.optimizers.SGD(learning_rate=1e-2, momentum=0.9),
              metrics=["mae"])
model.summary()
history = model.fit(train_set, epochs=10, validation_data=valid_set, verbose=2)
forecast = model.predict(valid_set, verbose=0)[:, 0]
truth = x_valid[window_size:]
print("losses:", [round(float(v), 4) for v in history.history["loss"]])
print("validation MAE of the forecast:", float(np.mean(np.abs(forecast - truth)) * std))
print("validation MAE of repeating the last value:", float(np.mean(np.abs(x_valid[window_size - 1:-1] - truth)) * std))
