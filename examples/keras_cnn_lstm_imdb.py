"""Keras 2's classic `imdb_cnn_lstm.py` (sentiment with a Conv1D front-end before the LSTM), as a
Keras user writes it, with `import rnnkit as keras`.

Changed from the original, and only this:
- the data: no download here, so `imdb_like_data()` generates reviews of token ids whose label
  says whether "positive" ids outnumber "negative" ones (the shapes and types of imdb.load_data);
- the sizes: 1,500 training reviews and 2 epochs instead of 25,000 and 2, vocabulary 2,000.

    python examples/keras_cnn_lstm_imdb.py
"""

import numpy as np

import rnnkit as keras
from rnnkit.layers import LSTM, Activation, Conv1D, Dense, Dropout, Embedding, MaxPooling1D
from rnnkit.models import Sequential
from rnnkit.preprocessing import sequence

# Embedding
max_features = 2000
maxlen = 100
embedding_size = 128

# Convolution
kernel_size = 5
filters = 64
pool_size = 4

# LSTM
lstm_output_size = 70

# Training
batch_size = 30
epochs = 2


def imdb_like_data(num_words, train=1500, test=500, seed=0):
    rng = np.random.default_rng(seed)
    positive, negative = np.arange(4, 24), np.arange(24, 44)

    def reviews(count):
        xs, ys = [], []
        for _ in range(count):
            length = int(rng.integers(20, 160))
            words = rng.integers(44, num_words, size=length)
            label = int(rng.integers(0, 2))
            marks = rng.choice(positive if label else negative, size=int(rng.integers(3, 8)))
            words[rng.choice(length, size=len(marks), replace=False)] = marks
            xs.append([1] + words.tolist())
            ys.append(label)
        return xs, np.array(ys)

    return reviews(train), reviews(test)


keras.utils.set_random_seed(1337)
print("Loading data...")
(x_train, y_train), (x_test, y_test) = imdb_like_data(num_words=max_features)
print(len(x_train), "train sequences")
print(len(x_test), "test sequences")

print("Pad sequences (samples x time)")
x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
print("x_train shape:", x_train.shape)
print("x_test shape:", x_test.shape)

print("Build model...")
model = Sequential()
model.add(Embedding(max_features, embedding_size, input_length=maxlen))
model.add(Dropout(0.25))
model.add(Conv1D(filters, kernel_size, padding="valid", activation="relu", strides=1))
model.add(MaxPooling1D(pool_size=pool_size))
model.add(LSTM(lstm_output_size))
model.add(Dense(1))
model.add(Activation("sigmoid"))

model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.summary()

print("Train...")
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test))
score, acc = model.evaluate(x_test, y_test, batch_size=batch_size)
print("Test score:", score)
print("Test accuracy:", acc)
print("history:", {k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()})
