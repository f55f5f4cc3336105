"""Text classification, the book's recipe: Tokenizer -> pad_sequences -> Embedding(mask_zero) ->
Bidirectional(LSTM) -> Dense(sigmoid).

    python examples/text_classification.py [ratings.tsv] [--epochs 5]

The file is tab-separated `id<TAB>document<TAB>label` with a header (the layout of Korean
movie-review sets such as NSMC). Without a file, a small generated review set is used.
"""

import argparse
import time

import numpy as np

from rnnkit import datasets
from rnnkit.layers import LSTM, Bidirectional, Dense, Embedding
from rnnkit.models import Sequential
from rnnkit.preprocessing.sequence import pad_sequences
from rnnkit.preprocessing.text import Tokenizer
from rnnkit.utils import set_random_seed

GOOD = ["great", "wonderful", "moving", "funny", "brilliant", "loved", "beautiful", "best"]
BAD = ["boring", "awful", "dull", "terrible", "worst", "hated", "slow", "bad"]
FILLER = ["the", "movie", "film", "acting", "story", "was", "really", "and", "plot", "quite", "i", "it"]


def generated_reviews(count=2000, seed=0):
    """Reviews of 4 to 20 words whose label is whether good words outnumber bad ones."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        words = list(rng.choice(FILLER, rng.integers(3, 15)))
        good, bad = rng.integers(0, 4), rng.integers(0, 4)
        if good == bad:
            good += 1
        words += list(rng.choice(GOOD, good)) + list(rng.choice(BAD, bad))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(int(good > bad))
    return texts, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="a labelled .tsv file (default: generated reviews)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-len", type=int, default=30)
    parser.add_argument("--vocabulary", type=int, default=20000)
    args = parser.parse_args()
    set_random_seed(0)

    texts, labels = datasets.read_tsv(args.path) if args.path else generated_reviews()
    labels = np.asarray(labels, dtype="float32")
    order = np.random.default_rng(0).permutation(len(texts))
    split = int(len(texts) * 0.8)
    train_idx, test_idx = order[:split], order[split:]

    tokenizer = Tokenizer(num_words=args.vocabulary, oov_token="<OOV>")
    tokenizer.fit_on_texts([texts[i] for i in train_idx])
    x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=args.max_len, padding="post")
    vocabulary = min(args.vocabulary, len(tokenizer.word_index) + 1)

    model = Sequential([
        Embedding(vocabulary, 32, mask_zero=True),
        Bidirectional(LSTM(32)),
        Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.summary()
    start = time.perf_counter()
    model.fit(x[train_idx], labels[train_idx], epochs=args.epochs, batch_size=64, validation_split=0.1)
    loss, accuracy = model.evaluate(x[test_idx], labels[test_idx], verbose=0)
    print(f"test accuracy {accuracy:.3f} (loss {loss:.3f}) after {time.perf_counter() - start:.1f} s of training")
    for review in ["the acting was wonderful and the story moving", "boring plot and awful acting"]:
        probability = model.predict(pad_sequences(tokenizer.texts_to_sequences([review]), maxlen=args.max_len,
                                                  padding="post"), verbose=0)[0, 0]
        print(f"{probability:.2f} positive: {review}")


if __name__ == "__main__":
    main()
