"""Deep Learning with Python (first edition), notebook 6.3 "Advanced usage of recurrent neural
networks", the temperature-forecasting half, ported to rnnkit: Keras 2's `fit_generator` on Python
generators, a GRU, a GRU with dropout and recurrent dropout, stacked GRUs and a bidirectional GRU.

Original: fchollet/deep-learning-with-python-notebooks, first_edition/
6.3-advanced-usage-of-recurrent-neural-networks.ipynb (Keras 2.0.8), its code cells in order.
The comments are shortened.

What was changed, and nothing else:

* Imports: `from keras.models import Sequential`, `from keras import layers`,
  `from keras.optimizers import RMSprop` -> the same names from `rnnkit`.
* Data: the notebook reads jena_climate_2009_2016.csv (420,551 rows, downloaded by hand);
  `write_jena_like_csv()` writes a file of the same layout (a "Date Time" column, then 14
  quantities, the temperature in the second) with 4,000 rows of daily cycles plus noise, to a
  temporary folder that `data_dir` names. Sizes follow: the split points 200,000 / 300,000 ->
  2,000 / 3,000 rows, lookback 1440 -> 240, delay 144 -> 24, batch_size 128 -> 32.
* Left out: the plots (matplotlib), the densely connected baseline, the reversed-order GRU and
  the IMDB cells (the same calls as above on other data).
* Sizes: steps_per_epoch 500 -> 10, epochs 20 / 40 -> 2.
* Added: `keras.utils.set_random_seed(42)`, and a line printing each history.

    python examples/dlwp_jena_gru.py
"""

import os
import tempfile

import numpy as np

import rnnkit as keras
from rnnkit.models import Sequential
from rnnkit import layers
from rnnkit.optimizers import RMSprop

keras.utils.set_random_seed(42)


def write_jena_like_csv(path, rows=4000):
    rng = np.random.default_rng(0)
    day = np.sin(2 * np.pi * np.arange(rows) / 144.0)
    header = ['"Date Time"', '"p (mbar)"', '"T (degC)"', '"Tpot (K)"', '"Tdew (degC)"', '"rh (%)"',
              '"VPmax (mbar)"', '"VPact (mbar)"', '"VPdef (mbar)"', '"sh (g/kg)"', '"H2OC (mmol/mol)"',
              '"rho (g/m**3)"', '"wv (m/s)"', '"max. wv (m/s)"', '"wd (deg)"']
    values = day[:, None] * rng.uniform(1, 10, 14) + rng.uniform(-50, 1000, 14) + rng.normal(size=(rows, 14))
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        f.write("\n".join(f"01.01.2009 {i % 144 // 6:02d}:{i % 6}0:00," + ",".join(f"{v:.2f}" for v in row)
                          for i, row in enumerate(values)))


data_dir = tempfile.mkdtemp()
fname = os.path.join(data_dir, 'jena_climate_2009_2016.csv')
write_jena_like_csv(fname)

f = open(fname)
data = f.read()
f.close()

lines = data.split('\n')
header = lines[0].split(',')
lines = lines[1:]

print(header)
print(len(lines))

float_data = np.zeros((len(lines), len(header) - 1))
for i, line in enumerate(lines):
    values = [float(x) for x in line.split(',')[1:]]
    float_data[i, :] = values

mean = float_data[:2000].mean(axis=0)
float_data -= mean
std = float_data[:2000].std(axis=0)
float_data /= std


def generator(data, lookback, delay, min_index, max_index,
              shuffle=False, batch_size=128, step=6):
    if max_index is None:
        max_index = len(data) - delay - 1
    i = min_index + lookback
    while 1:
        if shuffle:
            rows = np.random.randint(
                min_index + lookback, max_index, size=batch_size)
        else:
            if i + batch_size >= max_index:
                i = min_index + lookback
            rows = np.arange(i, min(i + batch_size, max_index))
            i += len(rows)

        samples = np.zeros((len(rows),
                           lookback // step,
                           data.shape[-1]))
        targets = np.zeros((len(rows),))
        for j, row in enumerate(rows):
            indices = range(rows[j] - lookback, rows[j], step)
            samples[j] = data[indices]
            targets[j] = data[rows[j] + delay][1]
        yield samples, targets


lookback = 240
step = 6
delay = 24
batch_size = 32

train_gen = generator(float_data,
                      lookback=lookback,
                      delay=delay,
                      min_index=0,
                      max_index=2000,
                      shuffle=True,
                      step=step,
                      batch_size=batch_size)
val_gen = generator(float_data,
                    lookback=lookback,
                    delay=delay,
                    min_index=2001,
                    max_index=3000,
                    step=step,
                    batch_size=batch_size)
test_gen = generator(float_data,
                     lookback=lookback,
                     delay=delay,
                     min_index=3001,
                     max_index=None,
                     step=step,
                     batch_size=batch_size)

# How many steps to draw from `val_gen` in order to see the whole validation set:
val_steps = (3000 - 2001 - lookback) // batch_size

# How many steps to draw from `test_gen` in order to see the whole test set:
test_steps = (len(float_data) - 3001 - lookback) // batch_size


def evaluate_naive_method():
    batch_maes = []
    for step in range(val_steps):
        samples, targets = next(val_gen)
        preds = samples[:, -1, 1]
        mae = np.mean(np.abs(preds - targets))
        batch_maes.append(mae)
    print(np.mean(batch_maes))


print('naive MAE:', end=' ')
evaluate_naive_method()

model = Sequential()
model.add(layers.GRU(32, input_shape=(None, float_data.shape[-1])))
model.add(layers.Dense(1))

model.compile(optimizer=RMSprop(), loss='mae')
history = model.fit_generator(train_gen,
                              steps_per_epoch=10,
                              epochs=2,
                              validation_data=val_gen,
                              validation_steps=val_steps)
print('history:', history.history)

model = Sequential()
model.add(layers.GRU(32,
                     dropout=0.2,
                     recurrent_dropout=0.2,
                     input_shape=(None, float_data.shape[-1])))
model.add(layers.Dense(1))

model.compile(optimizer=RMSprop(), loss='mae')
history = model.fit_generator(train_gen,
                              steps_per_epoch=10,
                              epochs=2,
                              validation_data=val_gen,
                              validation_steps=val_steps)
print('history:', history.history)

model = Sequential()
model.add(layers.GRU(32,
                     dropout=0.1,
                     recurrent_dropout=0.5,
                     return_sequences=True,
                     input_shape=(None, float_data.shape[-1])))
model.add(layers.GRU(64, activation='relu',
                     dropout=0.1,
                     recurrent_dropout=0.5))
model.add(layers.Dense(1))

model.compile(optimizer=RMSprop(), loss='mae')
history = model.fit_generator(train_gen,
                              steps_per_epoch=10,
                              epochs=2,
                              validation_data=val_gen,
                              validation_steps=val_steps)
print('history:', history.history)

model = Sequential()
model.add(layers.Bidirectional(
    layers.GRU(32), input_shape=(None, float_data.shape[-1])))
model.add(layers.Dense(1))

model.compile(optimizer=RMSprop(), loss='mae')
history = model.fit_generator(train_gen,
                              steps_per_epoch=10,
                              epochs=2,
                              validation_data=val_gen,
                              validation_steps=val_steps)
print('history:', history.history)
