"""Corpora and readers for text a user brings.

- `python_docs()`: the text of Python's own documentation topics, which every CPython install
  ships (`pydoc_data.topics`), read at run time: a corpus with no download.
- `read_text(path)`: one UTF-8 text file.
- `read_tsv(path)`: labelled documents, one per line, `id<TAB>document<TAB>label` with a header
  (the layout of Korean movie-review sets such as NSMC).
- `read_label_folders(path)`: one text file per sample inside one folder per label.
"""

import os
import pathlib
import re


def python_docs(max_chars=None):
    """The Python documentation's topic texts, cleaned to plain text, as one string.

    Args:
        max_chars: keep only this many characters (the start of the corpus).
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:  # pragma: no cover - part of the standard library
        raise ValueError("This Python has no pydoc_data: pass a text file instead. Received: no corpus") from None
    parts = []
    for name in sorted(topics):
        text = topics[name].replace("\r\n", "\n")
        text = re.sub(r"[ \t]+\n", "\n", text)        # trailing spaces
        text = re.sub(r"\n{3,}", "\n\n", text)         # runs of blank lines
        parts.append(text.strip())
    corpus = "\n\n".join(parts) + "\n"
    return corpus if max_chars is None else corpus[:max_chars]


def _decode(raw, path):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{os.fspath(path)!r} is not UTF-8: byte {raw[error.start]:#04x} at offset "
                         f"{error.start} cannot be decoded ({error.reason}). Received: a non-UTF-8 file") from None


def read_text(path):
    """The contents of a UTF-8 text file.

    Raises:
        FileNotFoundError: for a missing file.
        ValueError: naming the file and the byte offset, for bytes that are not UTF-8.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such text file: {os.fspath(path)!r}")
    return _decode(path.read_bytes(), path)


def read_tsv(path, text_column="document", label_column="label"):
    """(texts, labels) from a tab-separated file with a header naming its columns.

    Lines whose text is empty are kept as empty strings (NSMC has a few); a label that is an
    integer becomes an int.

    Raises:
        ValueError: for a missing column, a line with the wrong number of fields, or non-UTF-8 bytes.
    """
    lines = read_text(path).splitlines()
    if not lines:
        raise ValueError(f"{os.fspath(path)!r} is empty. Received: no header")
    header = lines[0].split("\t")
    for column in (text_column, label_column):
        if column not in header:
            raise ValueError(f"{os.fspath(path)!r} has no column {column!r}. Received: columns {header}")
    text_at, label_at = header.index(text_column), header.index(label_column)
    texts, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise ValueError(f"{os.fspath(path)!r} line {number} has {len(fields)} fields; the header has "
                             f"{len(header)}. Received: {line[:60]!r}")
        label = fields[label_at].strip()
        texts.append(fields[text_at])
        labels.append(int(label) if re.fullmatch(r"-?\d+", label) else label)
    return texts, labels


def read_label_folders(path):
    """(texts, labels, class_names): every file under `path/<class name>/`, classes sorted by name
    and numbered from 0 (as Keras's text_dataset_from_directory does).

    Raises:
        ValueError: if `path` has no class folders or they hold no files.
    """
    root = pathlib.Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"No such folder: {os.fspath(root)!r}")
    class_names = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    if not class_names:
        raise ValueError(f"{os.fspath(root)!r} holds no label folders. Received: an empty or flat folder")
    texts, labels = [], []
    for label, name in enumerate(class_names):
        for file in sorted(p for p in (root / name).rglob("*") if p.is_file()):
            texts.append(read_text(file))
            labels.append(label)
    if not texts:
        raise ValueError(f"{os.fspath(root)!r}: the label folders hold no files. Received: {class_names}")
    return texts, labels, class_names
