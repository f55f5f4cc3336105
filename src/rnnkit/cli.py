"""The `rnnkit` command."""

import argparse
import sys


def _tutorial(args):
    from rnnkit import tutorial
    tutorial.run(seed=args.seed)
    return 0


def _summary(args):
    from rnnkit.models import load_model
    load_model(args.file).summary()
    return 0


def _predict(args):
    import numpy as np

    from rnnkit.models import load_model
    model = load_model(args.file)
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read the input {args.input!r} as a .npy array: {error}") from None
    y = model.predict(x, batch_size=args.batch_size, verbose=0)
    if args.output:
        np.save(args.output, y)
        print(f"wrote {args.output}: {y.shape} {y.dtype}")
    else:
        np.set_printoptions(precision=6, suppress=True)
        print(y)
    return 0


def _positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Received: {text}")
    return value


def _train(args):
    from rnnkit import language_model
    try:
        language_model.train(args.text, cell=args.cell, units=args.units, depth=args.layers, seq_len=args.seq_len,
                             epochs=args.epochs, batch_size=args.batch_size, word_level=args.word, out=args.out,
                             resume=args.resume, max_chars=args.max_chars, learning_rate=args.learning_rate,
                             seed=args.seed, verbose=1 if sys.stdout.isatty() else 2)
    except KeyboardInterrupt:
        return 130
    print(f"saved {args.out} (and its vocabulary, {args.out}.tokenizer.json)")
    return 0


def _generate(args):
    from rnnkit import language_model
    model, tokenizer = language_model.load(args.model)
    print(language_model.generate(model, tokenizer, prompt=args.prompt, length=args.length,
                                  temperature=args.temperature, seed=args.seed))
    return 0


def build_parser():
    from rnnkit import __version__

    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Keras's recurrent-network API on NumPy.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    tutorial = commands.add_parser("tutorial", help="run the seed RNN tutorial with rnnkit")
    tutorial.add_argument("--seed", type=int, default=0, help="seed of part 2's random weights")
    tutorial.set_defaults(handler=_tutorial)

    summary = commands.add_parser("summary", help="print the Keras-format summary of a model file")
    summary.add_argument("file", help="a Keras .h5 / .keras file or an rnnkit .npz model")
    summary.set_defaults(handler=_summary)

    predict = commands.add_parser("predict", help="run a saved model on a .npy input, without TensorFlow")
    predict.add_argument("file", help="a Keras .h5 / .keras file or an rnnkit .npz model")
    predict.add_argument("input", help="the input batch, a .npy file")
    predict.add_argument("-o", "--output", help="write the prediction to this .npy file (default: print it)")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.set_defaults(handler=_predict)

    train = commands.add_parser(
        "train", help="train a character- or word-level language model on text (default: the Python docs)")
    train.add_argument("text", nargs="*", help="UTF-8 text files (default: Python's own documentation)")
    train.add_argument("--cell", choices=["lstm", "gru", "simple_rnn"], default="lstm")
    train.add_argument("--units", type=_positive, default=128)
    train.add_argument("--layers", type=_positive, default=1, help="stacked recurrent layers")
    train.add_argument("--seq-len", type=_positive, default=64, help="tokens per training window")
    train.add_argument("--epochs", type=_positive, default=12)
    train.add_argument("--batch-size", type=_positive, default=64)
    level = train.add_mutually_exclusive_group()
    level.add_argument("--char", dest="word", action="store_false", help="character level (default)")
    level.add_argument("--word", dest="word", action="store_true", help="word level")
    train.add_argument("--out", default="model.keras", help="where to save (each epoch); default model.keras")
    train.add_argument("--resume", action="store_true", help="continue training the model at --out")
    train.add_argument("--max-chars", type=_positive, help="use only the start of the corpus")
    train.add_argument("--learning-rate", type=float, default=0.005)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(handler=_train, word=False)

    generate = commands.add_parser("generate", help="sample text from a model saved by `rnnkit train`")
    generate.add_argument("model")
    generate.add_argument("--prompt", default="", help="text to start from (only characters the model saw)")
    generate.add_argument("--length", type=_positive, default=300, help="tokens to generate")
    generate.add_argument("--temperature", type=float, default=0.7, help="0 for greedy")
    generate.add_argument("--seed", type=int, help="for reproducible samples")
    generate.set_defaults(handler=_generate)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except BrokenPipeError:  # `rnnkit tutorial | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"rnnkit: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
