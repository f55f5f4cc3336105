"""keras-io "Bidirectional LSTM on IMDB", ported to rnnkit.

Original: keras-team/keras-io, examples/nlp/bidirectional_lstm_imdb.py (fchollet, 2020/05/03).
The program keeps the original's model, calls and order; the comments are ours.

What was changed, and nothing else:

* Imports: `from tensorflow import keras` / `from tensorflow.keras import layers` ->
  `import rnnkit as keras` / `from rnnkit import layers`.
* Data: `keras.datasets.imdb.load_data(num_words=max_features)` downloads the reviews; rnnkit
  has no `keras.datasets.imdb` (and there is no network here), so `load_data` below makes
  reviews of the same form instead: lists of word indices of varied length, labels 0/1, where
  a review's label decides whether it draws more words from a "positive" or a "negative" band.
* Sizes: max_features 20000 -> 2000, maxlen 200 -> 24, Embedding 128 -> 16, LSTM units
  64 -> 16, 25,000 + 25,000 reviews -> 192 + 64; epochs stays 2, batch_size stays 32.
* Added: `history = ` before `model.fit(...)` and a last line printing `history.history`.
"""

import numpy as np

import rnnkit as keras
from rnnkit import layers

max_features = 2000  # vocabulary size (the original: top 20k words)
maxlen = 24  # words kept per review (the original: 200)

# Variable-length integer sequences in, one probability out
inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 16)(inputs)
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()


def load_data(num_words, train=192, test=64, seed=0):
    """Synthetic stand-in for keras.datasets.imdb.load_data: ((x, y), (x, y)), x a list of lists."""
    rng = np.random.default_rng(seed)

    def split(n):
        xs, ys = [], []
        for _ in range(n):
            label = int(rng.integers(2))
            length = int(rng.integers(10, 3 * maxlen))
            band = (4, num_words // 2) if label else (num_words // 2, num_words)
            words = rng.integers(4, num_words, size=length)
            sentiment = rng.random(length) < 0.5
            words[sentiment] = rng.integers(*band, size=int(sentiment.sum()))
            xs.append([1] + words.tolist())
            ys.append(label)
        return xs, np.array(ys)

    return split(train), split(test)


(x_train, y_train), (x_val, y_val) = load_data(
    num_words=max_features
)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
# Pad short reviews with zeros and cut long ones to maxlen words
x_train = keras.preprocessing.sequence.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.preprocessing.sequence.pad_sequences(x_val, maxlen=maxlen)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val))
print("history:", history.history)
