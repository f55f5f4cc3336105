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
    except (ValueError, TypeError, OSError) as error:
        print(f"rnnkit: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
