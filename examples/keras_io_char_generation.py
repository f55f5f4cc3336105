"""keras-io "Character-level text generation with LSTM", ported to rnnkit.

Original: keras-team/keras-io, examples/generative/lstm_character_level_text_generation.py
(fchollet, 2015/06/15, last modified 2020/04/30). The program keeps the original's data
preparation, model, sampling function and training/generation loop; the comments are ours.

What was changed, and nothing else:

* Imports: `from tensorflow import keras` / `from tensorflow.keras import layers` ->
  `import rnnkit as keras` / `from rnnkit import layers`.
* Data: instead of `keras.utils.get_file("nietzsche.txt", ...)` and reading the file, `text` is
  a synthetic lower-case corpus of about 3,000 characters made in the script (rnnkit has no
  `keras.utils.get_file`, and there is no network here).
* `dtype=np.bool` -> `dtype="bool"`: `np.bool` was removed in NumPy 1.24 (later keras-io
  versions of this example made the same change); this is not about rnnkit.
* Sizes: maxlen 40 -> 20, LSTM units 128 -> 32, epochs 40 -> 2, 400 generated characters per
  diversity -> 40; step 3, batch_size 128, RMSprop(learning_rate=0.01) and the four
  diversities are as in the original.
* Seeds: `random.seed(0)` and `np.random.seed(0)` so that a run is repeatable.
* Added: `history = model.fit(...)` keeps each epoch's loss, printed at the end as `losses:`.
"""

import io  # noqa: F401  (imported by the original, which reads the corpus with io.open)
import random
import sys

import numpy as np

import rnnkit as keras
from rnnkit import layers

random.seed(0)
np.random.seed(0)

# -- synthetic corpus in place of nietzsche.txt
words = ["the", "will", "to", "power", "is", "truth", "and", "morality", "of", "man",
         "what", "good", "evil", "beyond", "we", "free", "spirit", "philosopher"]
rng = np.random.default_rng(0)
text = " ".join(rng.choice(words, size=600)).lower() + "."
print("corpus length:", len(text))

chars = sorted(list(set(text)))
print("total chars:", len(chars))
char_indices = dict((c, i) for i, c in enumerate(chars))
indices_char = dict((i, c) for i, c in enumerate(chars))

# overlapping windows of maxlen characters, each followed by the character to predict
maxlen = 20
step = 3
sentences = []
next_chars = []
for i in range(0, len(text) - maxlen, step):
    sentences.append(text[i : i + maxlen])
    next_chars.append(text[i + maxlen])
print("nb sequences:", len(sentences))

print("Vectorization...")
x = np.zeros((len(sentences), maxlen, len(chars)), dtype="bool")
y = np.zeros((len(sentences), len(chars)), dtype="bool")
for i, sentence in enumerate(sentences):
    for t, char in enumerate(sentence):
        x[i, t, char_indices[char]] = 1
    y[i, char_indices[next_chars[i]]] = 1

# -- one LSTM layer and a softmax over the characters
model = keras.Sequential(
    [
        keras.Input(shape=(maxlen, len(chars))),
        layers.LSTM(32),
        layers.Dense(len(chars), activation="softmax"),
    ]
)
optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
model.compile(loss="categorical_crossentropy", optimizer=optimizer)


def sample(preds, temperature=1.0):
    # draw one index from the distribution preds, sharpened or flattened by temperature
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


epochs = 2
batch_size = 128

losses = []
for epoch in range(epochs):
    history = model.fit(x, y, batch_size=batch_size, epochs=1)
    losses.append(history.history["loss"][-1])

    print("Generating text after epoch: %d" % epoch)

    start_index = random.randint(0, len(text) - maxlen - 1)
    for diversity in [0.2, 0.5, 1.0, 1.2]:
        print("----- diversity:", diversity)

        generated = ""
        sentence = text[start_index : start_index + maxlen]
        generated += sentence
        print('----- Generating with seed: "' + sentence + '"')
        sys.stdout.write(generated)

        for i in range(40):
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.0

            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]

            sentence = sentence[1:] + next_char

            sys.stdout.write(next_char)
            sys.stdout.flush()
        print()

print("losses:", losses)
