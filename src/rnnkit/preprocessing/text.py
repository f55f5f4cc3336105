"""Keras's text Tokenizer, with the same rules and outputs as `keras.preprocessing.text`.

- Words: lower-cased (if `lower`), every character of `filters` replaced by `split`, split on
  `split`, empty pieces dropped. With `char_level`, every character is a token.
- `word_index`: tokens ranked by count, most frequent first, ties in order of first appearance;
  index 0 is never used (padding); the `oov_token`, if any, is index 1.
- `num_words`: only indices below `num_words` are emitted (the most frequent num_words - 1
  tokens); others become the OOV index when there is an `oov_token`, else are dropped.
"""

import collections
import json

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Splits a text into a list of words, as Keras does."""
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [piece for piece in input_text.split(split) if piece]


class Tokenizer:
    """Turns texts into sequences of token indices (Keras's Tokenizer).

    Args:
        num_words: keep only the num_words - 1 most frequent tokens when converting.
        filters: characters removed from words (replaced by `split`).
        lower: lower-case texts first.
        split: the word separator.
        char_level: every character is a token.
        oov_token: a token standing for everything outside the vocabulary (index 1).
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, document_count=0, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}. Received: {kwargs!r}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, int) or num_words < 1):
            raise ValueError(f"Argument `num_words` must be a positive int or None. Received: {num_words!r}")
        if analyzer is not None and not callable(analyzer):
            raise TypeError(f"Argument `analyzer` must be callable or None. Received: {analyzer!r}")
        self.num_words, self.filters, self.lower, self.split = num_words, filters, lower, split
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.document_count = document_count
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.word_index, self.index_word, self.index_docs = {}, {}, collections.defaultdict(int)

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return list(text)
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Counts the tokens of `texts` (strings, or lists of tokens) and builds `word_index`."""
        if isinstance(texts, str):
            raise TypeError("Argument `texts` must be a list of strings, not one string. Received: a str")
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        ranked = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)  # stable
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [token for token, _ in ranked]
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: token for token, index in self.word_index.items()}
        self.index_docs = collections.defaultdict(int)
        for token, count in self.word_docs.items():
            self.index_docs[self.word_index[token]] = count

    def _oov_index(self):
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    def texts_to_sequences(self, texts):
        """Each text as a list of token indices."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        oov = self._oov_index()
        for text in texts:
            sequence = []
            for token in self._tokens(text):
                index = self.word_index.get(token)
                if index is not None:
                    if self.num_words and index >= self.num_words:
                        if oov is not None:
                            sequence.append(oov)
                    else:
                        sequence.append(index)
                elif self.oov_token is not None:
                    sequence.append(oov)
            yield sequence

    def sequences_to_texts(self, sequences):
        """Each sequence of indices as its tokens joined by spaces (Keras joins chars too)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        oov = self._oov_index()
        for sequence in sequences:
            tokens = []
            for index in sequence:
                token = self.index_word.get(index)
                if token is not None:
                    if self.num_words and index >= self.num_words:
                        if oov is not None:
                            tokens.append(self.index_word[oov])
                    else:
                        tokens.append(token)
                elif self.oov_token is not None:
                    tokens.append(self.index_word[oov])
            yield " ".join(tokens)

    def texts_to_matrix(self, texts, mode="binary"):
        """A (len(texts), num_words) matrix: mode 'binary', 'count', 'freq' or 'tfidf'."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        if mode not in ("binary", "count", "tfidf", "freq"):
            raise ValueError(f"Argument `mode` must be 'binary', 'count', 'tfidf' or 'freq'. Received: {mode!r}")
        num_words = self.num_words
        if not num_words:
            if not self.word_index:
                raise ValueError("Specify `num_words` or fit the Tokenizer on texts first. Received: an empty "
                                 "word_index and num_words=None")
            num_words = len(self.word_index) + 1
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on texts before using mode='tfidf'. Received: document_count=0")
        matrix = np.zeros((len(sequences), num_words))
        for row, sequence in enumerate(sequences):
            if not sequence:
                continue
            counts = collections.Counter(index for index in sequence if index < num_words)
            for index, count in counts.items():
                if mode == "count":
                    matrix[row, index] = count
                elif mode == "freq":
                    matrix[row, index] = count / len(sequence)
                elif mode == "binary":
                    matrix[row, index] = 1
                else:
                    tf = 1 + np.log(count)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(index, 0)))
                    matrix[row, index] = tf * idf
        return matrix

    def get_config(self):
        return {
            "num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
            "char_level": self.char_level, "oov_token": self.oov_token, "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs), "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """The tokenizer as a JSON string (Keras's format); `tokenizer_from_json` reads it back."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """A Tokenizer from `Tokenizer.to_json()` output (also Keras's).

    Raises:
        ValueError: if the string is not a tokenizer's JSON.
    """
    try:
        data = json.loads(json_string)
        config = dict(data["config"])
        word_counts = json.loads(config.pop("word_counts"), object_pairs_hook=collections.OrderedDict)
        word_docs = json.loads(config.pop("word_docs"))
        index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
        index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
        word_index = json.loads(config.pop("word_index"))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"Argument `json_string` is not a Tokenizer's JSON ({error}). Received: "
                         f"{str(json_string)[:80]!r}") from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = collections.defaultdict(int, word_docs)
    tokenizer.index_docs = collections.defaultdict(int, index_docs)
    tokenizer.word_index, tokenizer.index_word = word_index, index_word
    return tokenizer
