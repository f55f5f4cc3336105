"""Tokenizer against Keras's documented rules, worked out by hand on small texts."""

import json

import numpy as np
import pytest

from rnnkit.preprocessing.text import Tokenizer, text_to_word_sequence, tokenizer_from_json

TEXTS = ["The cat sat.", "The dog sat, the dog ran!", "A cat?"]
# counts: the 3, dog 2, sat 2, cat 2, ran 1, a 1; first appearances: the, cat, sat, dog, ran, a
# ranked by count, ties by first appearance: the(3) cat(2) sat(2) dog(2) ran(1) a(1)


def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World!  Hi\tthere") == ["hello", "world", "hi", "there"]
    assert text_to_word_sequence("A-b", filters="", lower=False) == ["A-b"]
    assert text_to_word_sequence("a|b||c", split="|") == ["a", "b", "c"]
    assert text_to_word_sequence("") == []


def test_word_index_ranks_by_count_then_first_appearance():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(TEXTS)
    assert tokenizer.word_index == {"the": 1, "cat": 2, "sat": 3, "dog": 4, "ran": 5, "a": 6}
    assert tokenizer.index_word[4] == "dog"
    assert tokenizer.word_counts["dog"] == 2 and tokenizer.word_docs["the"] == 2
    assert tokenizer.document_count == 3
    assert tokenizer.texts_to_sequences(["the dog and a cat"]) == [[1, 4, 6, 2]]


def test_num_words_keeps_indices_below_it():
    tokenizer = Tokenizer(num_words=3)
    tokenizer.fit_on_texts(TEXTS)
    assert len(tokenizer.word_index) == 6  # the index is complete; only conversion is cut
    assert tokenizer.texts_to_sequences(["the cat sat dog"]) == [[1, 2]]
    assert tokenizer.sequences_to_texts([[1, 2, 3, 4]]) == ["the cat"]


def test_oov_token_is_index_one():
    tokenizer = Tokenizer(num_words=4, oov_token="<OOV>")
    tokenizer.fit_on_texts(TEXTS)
    assert tokenizer.word_index["<OOV>"] == 1 and tokenizer.word_index["the"] == 2
    # 'zebra' unknown -> 1; 'sat' has index 4 >= num_words -> 1
    assert tokenizer.texts_to_sequences(["the zebra sat cat"]) == [[2, 1, 1, 3]]
    assert tokenizer.sequences_to_texts([[2, 1, 9]]) == ["the <OOV> <OOV>"]


def test_char_level_and_no_lowering():
    tokenizer = Tokenizer(char_level=True, lower=False)
    tokenizer.fit_on_texts(["abba", "Ab"])
    # counts: a 2, b 3, A 1 -> b, a, A
    assert tokenizer.word_index == {"b": 1, "a": 2, "A": 3}
    assert tokenizer.texts_to_sequences(["Abc"]) == [[3, 1]]
    assert tokenizer.sequences_to_texts([[3, 1]]) == ["A b"]  # Keras joins characters with spaces


def test_empty_texts():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(["", "..."])
    assert tokenizer.word_index == {} and tokenizer.document_count == 2
    assert tokenizer.texts_to_sequences(["", "x"]) == [[], []]
    with pytest.raises(ValueError, match="num_words.*Received"):
        tokenizer.texts_to_matrix(["x"])


@pytest.mark.parametrize("mode", ["binary", "count", "freq", "tfidf"])
def test_texts_to_matrix(mode):
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(TEXTS)
    matrix = tokenizer.texts_to_matrix(["the the dog"], mode=mode)
    assert matrix.shape == (1, 7)
    expected = np.zeros(7)
    if mode == "binary":
        expected[[1, 4]] = 1
    elif mode == "count":
        expected[[1, 4]] = [2, 1]
    elif mode == "freq":
        expected[[1, 4]] = [2 / 3, 1 / 3]
    else:
        # tf = 1 + ln(count); idf = ln(1 + documents / (1 + documents containing the word))
        expected[1] = (1 + np.log(2)) * np.log(1 + 3 / (1 + 2))
        expected[4] = (1 + np.log(1)) * np.log(1 + 3 / (1 + 1))
    np.testing.assert_allclose(matrix[0], expected)
    with pytest.raises(ValueError, match="mode.*Received: 'bm25'"):
        tokenizer.texts_to_matrix(["x"], mode="bm25")


def test_json_round_trip_and_keras_format():
    tokenizer = Tokenizer(num_words=5, oov_token="?")
    tokenizer.fit_on_texts(TEXTS)
    text = tokenizer.to_json()
    data = json.loads(text)
    assert data["class_name"] == "Tokenizer"
    assert json.loads(data["config"]["word_index"]) == tokenizer.word_index
    clone = tokenizer_from_json(text)
    assert clone.word_index == tokenizer.word_index and clone.index_word == tokenizer.index_word
    assert clone.texts_to_sequences(TEXTS) == tokenizer.texts_to_sequences(TEXTS)
    assert clone.texts_to_matrix(TEXTS, "tfidf").tolist() == tokenizer.texts_to_matrix(TEXTS, "tfidf").tolist()
    with pytest.raises(ValueError, match="json_string.*Received"):
        tokenizer_from_json('{"class_name": "Tokenizer"}')


def test_bad_arguments():
    with pytest.raises(TypeError, match="list of strings"):
        Tokenizer().fit_on_texts("one string")
    with pytest.raises(ValueError, match="num_words.*Received: 0"):
        Tokenizer(num_words=0)
