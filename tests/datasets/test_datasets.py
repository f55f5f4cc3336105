"""Corpora and readers, on small files the tests write themselves."""

import pytest

from rnnkit import datasets


def test_python_docs_is_plain_text_from_the_standard_library():
    from pydoc_data.topics import topics
    corpus = datasets.python_docs()
    assert len(corpus) > 100_000
    assert "\n\n\n" not in corpus and " \n" not in corpus
    first_topic = topics[sorted(topics)[0]].strip().splitlines()[0]
    assert corpus.startswith(first_topic)
    assert datasets.python_docs(max_chars=1000) == corpus[:1000]


def test_read_text_and_non_utf8(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("héllo\n", encoding="utf-8")
    assert datasets.read_text(path) == "héllo\n"
    bad = tmp_path / "latin.txt"
    bad.write_bytes("abc é".encode("latin-1"))
    with pytest.raises(ValueError, match="latin.txt.*0xe9 at offset 4"):
        datasets.read_text(bad)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        datasets.read_text(tmp_path / "missing.txt")


def test_read_tsv_in_nsmc_layout(tmp_path):
    path = tmp_path / "ratings.txt"
    path.write_text("id\tdocument\tlabel\n1\t재밌어요\t1\n2\t\t0\n\n3\t별로\t0\n", encoding="utf-8")
    texts, labels = datasets.read_tsv(path)
    assert texts == ["재밌어요", "", "별로"] and labels == [1, 0, 0]
    path.write_text("id\ttext\tlabel\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no column 'document'.*Received"):
        datasets.read_tsv(path)
    path.write_text("id\tdocument\tlabel\n1\tonly two\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 has 2 fields"):
        datasets.read_tsv(path)


def test_read_label_folders(tmp_path):
    for label, texts in {"pos": ["good", "great"], "neg": ["bad"]}.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text)
    texts, labels, names = datasets.read_label_folders(tmp_path)
    assert names == ["neg", "pos"]
    assert sorted(zip(texts, labels)) == [("bad", 0), ("good", 1), ("great", 1)]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x").mkdir()
    with pytest.raises(ValueError, match="hold no files"):
        datasets.read_label_folders(empty)
