"""keras-io "Timeseries forecasting for weather prediction", ported to rnnkit.

Original: keras-team/keras-io, examples/timeseries/timeseries_weather_forecasting.py
(P. Attri, Y. Sharma, K. Takach, F. Shah; 2020/06/23, last modified 2023/11/22).
The program keeps the original's steps and Keras calls in order; the prose is ours.

What was changed, and nothing else:

* Imports: `import keras` -> `import rnnkit as keras`; `pandas` and `matplotlib` are not
  imported (neither is a dependency of rnnkit).
* Data: instead of downloading the Jena climate CSV (`keras.utils.get_file` + `ZipFile` +
  `pd.read_csv`), a synthetic table with the same 14 feature columns (a daily cycle plus noise,
  one row per 10 minutes) is made in the script. Without pandas, the column selection,
  `features.loc[...]`/`iloc[...]` slices and `.values` are the same slices on a NumPy array.
* Plots: `show_raw_visualization`, `show_heatmap`, `visualize_loss` and `show_plot` are left
  out (no matplotlib); the values they would plot are printed instead, and a last line says
  whether the checkpoint file was written.
* Sizes: 4,000 rows instead of 420,551; past=120 and future=12 (instead of 720 and 72), so
  windows are 20 steps; epochs=2 (instead of 10); the checkpoint file (same name,
  `model_checkpoint.h5`) goes to a temporary folder.
* Nothing else: the batches answer `.numpy()` as `tf.data`'s do, so those calls are the
  original's.
"""

import os
import tempfile

import numpy as np

import rnnkit as keras

# -- synthetic stand-in for the Jena climate table (14 features, one row every 10 minutes)
rows = 4000
rng = np.random.default_rng(0)
t = np.arange(rows)
day = np.sin(2 * np.pi * t / 144.0)
titles = [
    "Pressure", "Temperature", "Temperature in Kelvin", "Temperature (dew point)",
    "Relative Humidity", "Saturation vapor pressure", "Vapor pressure", "Vapor pressure deficit",
    "Specific humidity", "Water vapor concentration", "Airtight", "Wind speed",
    "Maximum wind speed", "Wind direction in degrees",
]
feature_keys = [
    "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "VPact (mbar)",
    "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)",
    "wd (deg)",
]
scales = np.array([990, 9, 283, 5, 76, 13, 9, 4, 6, 9, 1216, 2, 3, 174], dtype=float)
df = scales * (1.0 + 0.05 * day[:, None] * np.linspace(1, 2, 14)) + 0.02 * scales * rng.standard_normal((rows, 14))

# -- preprocessing, as the original
split_fraction = 0.715
train_split = int(split_fraction * int(df.shape[0]))
step = 6

past = 120
future = 12
learning_rate = 0.001
batch_size = 256
epochs = 2


def normalize(data, train_split):
    data_mean = data[:train_split].mean(axis=0)
    data_std = data[:train_split].std(axis=0)
    return (data - data_mean) / data_std


print(
    "The selected parameters are:",
    ", ".join([titles[i] for i in [0, 1, 5, 7, 8, 10, 11]]),
)
features = df[:, [0, 1, 5, 7, 8, 10, 11]]
features = normalize(features, train_split)

train_data = features[0:train_split]
val_data = features[train_split:]

start = past + future
end = start + train_split

x_train = train_data[:, [i for i in range(7)]]
y_train = features[start:end][:, [1]]

sequence_length = int(past / step)

dataset_train = keras.preprocessing.timeseries_dataset_from_array(
    x_train,
    y_train,
    sequence_length=sequence_length,
    sampling_rate=step,
    batch_size=batch_size,
)

x_end = len(val_data) - past - future

label_start = train_split + past + future

x_val = val_data[:x_end][:, [i for i in range(7)]]
y_val = features[label_start:][:, [1]]

dataset_val = keras.preprocessing.timeseries_dataset_from_array(
    x_val,
    y_val,
    sequence_length=sequence_length,
    sampling_rate=step,
    batch_size=batch_size,
)

for batch in dataset_train.take(1):
    inputs, targets = batch

print("Input shape:", inputs.numpy().shape)
print("Target shape:", targets.numpy().shape)

# -- training
inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
lstm_out = keras.layers.LSTM(32)(inputs)
outputs = keras.layers.Dense(1)(lstm_out)

model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
model.summary()

path_checkpoint = os.path.join(tempfile.mkdtemp(), "model_checkpoint.h5")
es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)

modelckpt_callback = keras.callbacks.ModelCheckpoint(
    monitor="val_loss",
    filepath=path_checkpoint,
    verbose=1,
    save_weights_only=True,
    save_best_only=True,
)

history = model.fit(
    dataset_train,
    epochs=epochs,
    validation_data=dataset_val,
    callbacks=[es_callback, modelckpt_callback],
)

loss = history.history["loss"]
val_loss = history.history["val_loss"]
print("Training loss:", loss)
print("Validation loss:", val_loss)

for x, y in dataset_val.take(5):
    # the original plots these three with show_plot (no matplotlib here: printed instead)
    print("Single Step Prediction:", x[0][:, 1].numpy()[-1], y[0].numpy(), model.predict(x)[0])

print("checkpoint saved:", os.path.exists(path_checkpoint))
