"""The `rnnkit` command."""

import argparse
import sys


def _tutorial(args):
    from rnnkit import tutorial
    tutorial.run(seed=args.seed)
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
