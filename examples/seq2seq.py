"""A character-level encoder-decoder (seq2seq) LSTM that learns to reverse digit strings, the Keras
blog's recipe: teacher forcing for training, then separate encoder and decoder models that share
the trained layers, and a greedy decoding loop; saved, reloaded, and decoding the same.

    python examples/seq2seq.py [--epochs 40] [--out build/seq2seq]
"""

import argparse
import os

import numpy as np

import rnnkit as keras

DIGITS = "0123456789"
START, END = "\t", "\n"
TARGET_CHARS = START + END + DIGITS


def dataset(count, rng, max_length=6):
    """(inputs, reversed targets) as strings: '3141' -> '1413'."""
    lengths = rng.integers(3, max_length + 1, size=count)
    inputs = ["".join(rng.choice(list(DIGITS), size=n)) for n in lengths]
    return inputs, [s[::-1] for s in inputs]


def one_hot(texts, alphabet, length):
    index = {c: i for i, c in enumerate(alphabet)}
    out = np.zeros((len(texts), length, len(alphabet)), "float32")
    for row, text in enumerate(texts):
        for t, char in enumerate(text):
            out[row, t, index[char]] = 1.0
    return out


def build(units):
    """The training model, and the encoder and decoder for inference, sharing its layers."""
    encoder_inputs = keras.Input(shape=(None, len(DIGITS)), name="digits")
    _, state_h, state_c = keras.layers.LSTM(units, return_state=True, name="encoder")(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, len(TARGET_CHARS)), name="shifted_target")
    decoder_lstm = keras.layers.LSTM(units, return_sequences=True, return_state=True, name="decoder")
    decoded, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    softmax = keras.layers.Dense(len(TARGET_CHARS), activation="softmax", name="next_char")
    model = keras.Model([encoder_inputs, decoder_inputs], softmax(decoded), name="seq2seq")
    encoder = keras.Model(encoder_inputs, [state_h, state_c], name="encoder_model")
    state_inputs = [keras.Input(shape=(units,), name="h"), keras.Input(shape=(units,), name="c")]
    step, h, c = decoder_lstm(decoder_inputs, initial_state=state_inputs)
    decoder = keras.Model([decoder_inputs] + state_inputs, [softmax(step), h, c], name="decoder_model")
    return model, encoder, decoder


def decode(encoder, decoder, texts, max_length=8):
    """Greedy decoding: the decoder is fed its own last prediction, one character at a time."""
    states = encoder.predict(one_hot(texts, DIGITS, max(len(t) for t in texts)), verbose=0)
    token = one_hot([START] * len(texts), TARGET_CHARS, 1)
    outputs, done = [""] * len(texts), [False] * len(texts)
    for _ in range(max_length):
        probabilities, h, c = decoder.predict([token] + states, verbose=0)
        chosen = probabilities[:, -1].argmax(axis=-1)
        for row, index in enumerate(chosen):
            char = TARGET_CHARS[index]
            if char == END:
                done[row] = True
            elif not done[row]:
                outputs[row] += char
        token = one_hot([TARGET_CHARS[i] for i in chosen], TARGET_CHARS, 1)
        states = [h, c]
    return outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--out", default=os.path.join("build", "seq2seq"))
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    texts, targets = dataset(args.samples, rng)
    length = max(map(len, texts))
    x_encoder = one_hot(texts, DIGITS, length)
    x_decoder = one_hot([START + t for t in targets], TARGET_CHARS, length + 1)
    y = one_hot([t + END for t in targets], TARGET_CHARS, length + 1)
    model, encoder, decoder = build(args.units)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit([x_encoder, x_decoder], y, batch_size=64, epochs=args.epochs, validation_split=0.1, verbose=2)

    tests, answers = dataset(200, np.random.default_rng(1))
    decoded = decode(encoder, decoder, tests)
    accuracy = np.mean([d == a for d, a in zip(decoded, answers)])
    for text, out in list(zip(tests, decoded))[:5]:
        print(f"{text!r:>10} -> {out!r}")
    print(f"exact reversals on 200 new strings: {accuracy:.1%}")

    os.makedirs(args.out, exist_ok=True)
    encoder.save(os.path.join(args.out, "encoder.keras"))
    decoder.save(os.path.join(args.out, "decoder.keras"))
    again = decode(keras.models.load_model(os.path.join(args.out, "encoder.keras")),
                   keras.models.load_model(os.path.join(args.out, "decoder.keras")), tests)
    print(f"decoding with the reloaded encoder and decoder gives the same strings: {again == decoded}")
    return accuracy, again == decoded


if __name__ == "__main__":
    main()
