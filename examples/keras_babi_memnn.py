"""Keras 2's `babi_memnn.py`: an end-to-end memory network on bAbI stories, ported to rnnkit.

Original: keras-team/keras, examples/babi_memnn.py (Keras 2.2; after Sukhbaatar et al., "End-To-End
Memory Networks", 2015). Three Sequential encoders embed the story and the question; `dot` matches
them, `add` and `Permute` weigh the story, `concatenate` joins the question back, and an LSTM
reads the result to pick the answer word. The program keeps the original's model, calls and
order; its comments are shortened.

What was changed, and nothing else:

* Imports: `keras.models`, `keras.layers`, `keras.layers.embeddings`, `keras.preprocessing.sequence`
  -> the same names from `rnnkit`; `get_file` and `tarfile` are gone with the download.
* Data: the bAbI tarball is downloaded in the original; `babi_lines()` below writes stories of
  the same format instead (numbered sentences "Mary moved to the bathroom.", questions
  "Where is Mary? <TAB>answer<TAB>supporting line"), as task 1 "single supporting fact" asks.
* `tokenize`: the original splits on r'(\\W+)?', which since Python 3.7 also splits at empty
  matches and yields None groups (`None.strip()` fails); r'(\\W+)' gives the tokens it meant.
* Sizes: 10,000 training stories -> 300 questions, epochs 120 -> 2.
* Added: `keras.utils.set_random_seed(3)`, `model.summary()`, `history = ` before `model.fit`
  and a last line printing the history.

    python examples/keras_babi_memnn.py
"""

from __future__ import print_function

from functools import reduce
import re

import numpy as np

import rnnkit as keras
from rnnkit.models import Sequential, Model
from rnnkit.layers.embedding import Embedding
from rnnkit.layers import Input, Activation, Dense, Permute, Dropout
from rnnkit.layers import add, dot, concatenate
from rnnkit.layers import LSTM
from rnnkit.preprocessing.sequence import pad_sequences

keras.utils.set_random_seed(3)


def babi_lines(stories, rng):
    """bAbI task 1's file format, as bytes lines: each story has 3 questions after 2 moves each."""
    people = ["Mary", "John", "Sandra", "Daniel"]
    places = ["bathroom", "hallway", "garden", "office", "kitchen", "bedroom"]
    lines = []
    for _ in range(stories):
        number, where = 1, {}
        for _ in range(3):
            for _ in range(2):
                person, place = rng.choice(people), rng.choice(places)
                where[person] = (place, number)
                lines.append(f"{number} {person} moved to the {place}.")
                number += 1
            person = rng.choice(sorted(where))
            lines.append(f"{number} Where is {person}? \t{where[person][0]}\t{where[person][1]}")
            number += 1
    return [line.encode("utf-8") + b"\n" for line in lines]


def tokenize(sent):
    '''Return the tokens of a sentence including punctuation.

    >>> tokenize('Bob dropped the apple. Where is the apple?')
    ['Bob', 'dropped', 'the', 'apple', '.', 'Where', 'is', 'the', 'apple', '?']
    '''
    return [x.strip() for x in re.split(r'(\W+)', sent) if x.strip()]


def parse_stories(lines, only_supporting=False):
    '''Parse stories provided in the bAbi tasks format

    If only_supporting is true, only the sentences
    that support the answer are kept.
    '''
    data = []
    story = []
    for line in lines:
        line = line.decode('utf-8').strip()
        nid, line = line.split(' ', 1)
        nid = int(nid)
        if nid == 1:
            story = []
        if '\t' in line:
            q, a, supporting = line.split('\t')
            q = tokenize(q)
            if only_supporting:
                # Only select the related substory
                supporting = map(int, supporting.split())
                substory = [story[i - 1] for i in supporting]
            else:
                # Provide all the substories
                substory = [x for x in story if x]
            data.append((substory, q, a))
            story.append('')
        else:
            sent = tokenize(line)
            story.append(sent)
    return data


def get_stories(lines, only_supporting=False, max_length=None):
    '''Convert the sentences of each story into a single story. If max_length is
    supplied, any stories longer than max_length tokens will be discarded.
    '''
    data = parse_stories(lines, only_supporting=only_supporting)
    flatten = lambda data: reduce(lambda x, y: x + y, data)
    data = [(flatten(story), q, answer) for story, q, answer in data
            if not max_length or len(flatten(story)) < max_length]
    return data


def vectorize_stories(data):
    inputs, queries, answers = [], [], []
    for story, query, answer in data:
        inputs.append([word_idx[w] for w in story])
        queries.append([word_idx[w] for w in query])
        answers.append(word_idx[answer])
    return (pad_sequences(inputs, maxlen=story_maxlen),
            pad_sequences(queries, maxlen=query_maxlen),
            np.array(answers))


challenge_type = 'single_supporting_fact_10k'
print('Extracting stories for the challenge:', challenge_type)
rng = np.random.default_rng(0)
train_stories = get_stories(babi_lines(100, rng))
test_stories = get_stories(babi_lines(20, rng))

vocab = set()
for story, q, answer in train_stories + test_stories:
    vocab |= set(story + q + [answer])
vocab = sorted(vocab)

# Reserve 0 for masking via pad_sequences
vocab_size = len(vocab) + 1
story_maxlen = max(map(len, (x for x, _, _ in train_stories + test_stories)))
query_maxlen = max(map(len, (x for _, x, _ in train_stories + test_stories)))

print('-')
print('Vocab size:', vocab_size, 'unique words')
print('Story max length:', story_maxlen, 'words')
print('Query max length:', query_maxlen, 'words')
print('Number of training stories:', len(train_stories))
print('Number of test stories:', len(test_stories))
print('-')
print('Here\'s what a "story" tuple looks like (input, query, answer):')
print(train_stories[0])
print('-')
print('Vectorizing the word sequences...')

word_idx = dict((c, i + 1) for i, c in enumerate(vocab))
inputs_train, queries_train, answers_train = vectorize_stories(train_stories)
inputs_test, queries_test, answers_test = vectorize_stories(test_stories)

print('-')
print('inputs: integer tensor of shape (samples, max_length)')
print('inputs_train shape:', inputs_train.shape)
print('inputs_test shape:', inputs_test.shape)
print('-')
print('queries: integer tensor of shape (samples, max_length)')
print('queries_train shape:', queries_train.shape)
print('queries_test shape:', queries_test.shape)
print('-')
print('answers: binary (1 or 0) tensor of shape (samples, vocab_size)')
print('answers_train shape:', answers_train.shape)
print('answers_test shape:', answers_test.shape)
print('-')
print('Compiling...')

# placeholders
input_sequence = Input((story_maxlen,))
question = Input((query_maxlen,))

# encoders
# embed the input sequence into a sequence of vectors
input_encoder_m = Sequential()
input_encoder_m.add(Embedding(input_dim=vocab_size,
                              output_dim=64))
input_encoder_m.add(Dropout(0.3))
# output: (samples, story_maxlen, embedding_dim)

# embed the input into a sequence of vectors of size query_maxlen
input_encoder_c = Sequential()
input_encoder_c.add(Embedding(input_dim=vocab_size,
                              output_dim=query_maxlen))
input_encoder_c.add(Dropout(0.3))
# output: (samples, story_maxlen, query_maxlen)

# embed the question into a sequence of vectors
question_encoder = Sequential()
question_encoder.add(Embedding(input_dim=vocab_size,
                               output_dim=64,
                               input_length=query_maxlen))
question_encoder.add(Dropout(0.3))
# output: (samples, query_maxlen, embedding_dim)

# encode input sequence and questions (which are indices)
# to sequences of dense vectors
input_encoded_m = input_encoder_m(input_sequence)
input_encoded_c = input_encoder_c(input_sequence)
question_encoded = question_encoder(question)

# compute a 'match' between the first input vector sequence
# and the question vector sequence
# shape: `(samples, story_maxlen, query_maxlen)`
match = dot([input_encoded_m, question_encoded], axes=(2, 2))
match = Activation('softmax')(match)

# add the match matrix with the second input vector sequence
response = add([match, input_encoded_c])  # (samples, story_maxlen, query_maxlen)
response = Permute((2, 1))(response)  # (samples, query_maxlen, story_maxlen)

# concatenate the match matrix with the question vector sequence
answer = concatenate([response, question_encoded])

# the original paper uses a matrix multiplication for this reduction step.
# we choose to use a RNN instead.
answer = LSTM(32)(answer)  # (samples, 32)

# one regularization layer -- more would probably be needed.
answer = Dropout(0.3)(answer)
answer = Dense(vocab_size)(answer)  # (samples, vocab_size)
# we output a probability distribution over the vocabulary
answer = Activation('softmax')(answer)

# build the final model
model = Model([input_sequence, question], answer)
model.compile(optimizer='rmsprop', loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
model.summary()

# train
history = model.fit([inputs_train, queries_train], answers_train,
                    batch_size=32,
                    epochs=2,
                    validation_data=([inputs_test, queries_test], answers_test))
print("history:", {k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()})
