"""The `rnnkit` command.

Every argument is range-checked by the parser (exit 2, as argparse does for usage errors) and
every input path is checked to be a regular file before any work; any later failure is one line
on stderr, `rnnkit: error: ...`, and exit 1, never a traceback. Text the terminal cannot encode
is printed backslash-escaped. Files are written through `rnnkit_format.write_atomic`.
"""

import argparse
import math
import os
import re
import sys

MAX_SEED = 2 ** 32 - 1


def _regular_file(path, what):
    """Raises unless `path` is a regular file (a folder, FIFO or device would hang or mislead)."""
    from rnnkit.saving import guarded
    guarded.check_regular_file(path, what)
    return path


def _load_npy(path):
    """One numeric array from a .npy file, its header checked against the file's size before
    anything is allocated (a header may declare terabytes)."""
    from rnnkit.saving import guarded
    f, size = guarded.open_regular_file(path, "input .npy file")
    with f:
        try:
            if size == 0:
                raise guarded.UnreadableArray(path, None, "it is empty")
            array = guarded.read_npy(f, size, path)
        except guarded.UnreadableArray as error:
            raise ValueError(f"Cannot read the input {path!r} as a .npy array ({error.detail}). "
                             "Received: an unreadable input") from None
    if array.dtype.kind not in "fiub":
        raise ValueError(f"The input must hold numbers. Received: {path!r} of dtype {array.dtype}")
    return array


def _tutorial(args):
    from rnnkit import tutorial
    tutorial.run(seed=args.seed)
    return 0


def _model_path(path):
    """A model file, or a TensorFlow SavedModel folder (load_model refuses any other folder)."""
    import os
    return path if os.path.isdir(path) else _regular_file(path, "model file")


def _summary(args):
    from rnnkit.models import load_model
    if args.plot:
        rnnkit_format_check(args.plot)
    model = load_model(_model_path(args.file))
    model.summary()
    print(_source_line(model))
    if args.plot:
        from rnnkit.utils import plot_model
        plot_model(model, to_file=args.plot, show_shapes=True)
        print(f"wrote {args.plot}")
    return 0


_FORMAT_NAMES = {"keras2": "a Keras 2 HDF5 (.h5) model", "keras3": "a Keras 3 archive (.keras)",
                 "savedmodel": "a TensorFlow SavedModel folder"}


def _source_line(model):
    source = getattr(model, "source", None) or {}
    kind = _FORMAT_NAMES.get(source.get("format"), "an rnnkit .npz model")
    version = source.get("keras_version")
    return f"Read {kind}" + (f" written by Keras {version}" if version else "") + "."


def rnnkit_format_check(path):
    """Fails before any work when `path` can't be written (a folder, a missing folder)."""
    from rnnkit.saving import rnnkit_format
    if not str(path).endswith((".svg", ".png")):
        raise ValueError(f"Option --plot must name an .svg or .png file. Received: {path!r}")
    rnnkit_format.check_target(path)


def _convert(args):
    from rnnkit.models import convert
    from rnnkit.saving.converter import format_report
    print(format_report(convert(_model_path(args.input), args.output, check=args.check, force=args.force)))
    return 0


def _export(args):
    from rnnkit.models import load_model
    from rnnkit.saving import export_onnx
    from rnnkit.saving.onnx_export import format_report
    model = load_model(_model_path(args.model))
    print(format_report(export_onnx(model, args.output, mask_padding="right" if args.right_padded else None)))
    return 0


def _predict(args):
    import numpy as np

    from rnnkit.models import load_model
    from rnnkit.saving import rnnkit_format
    if args.output:  # before any work: a folder or a missing folder fails now, not after predicting
        rnnkit_format.check_target(args.output)
    _regular_file(args.input, "input .npy file")
    model = load_model(_model_path(args.file))
    x = _load_npy(args.input)
    if x.dtype.kind not in "fiub":
        raise ValueError(f"The input must hold numbers. Received: {args.input!r} of dtype {x.dtype}")
    y = model.predict(x, batch_size=args.batch_size, verbose=0)
    if args.output:
        # through a file object: np.save given a str would append ".npy" to a name without it
        rnnkit_format.write_atomic(args.output, lambda f: np.save(f, y, allow_pickle=False))
        print(f"wrote {args.output}: {y.shape} {y.dtype}")
    else:
        np.set_printoptions(precision=6, suppress=True)
        print(y)
    return 0


def _integer(low, high):
    """An argparse type: an int in [low, high]."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer. Received: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high:,}. Received: {text}")
        return value
    parse.__name__ = "integer"
    return parse


_positive = _integer(1, 2 ** 31 - 1)
_seed = _integer(0, MAX_SEED)


def _number(low, high, low_open=False):
    """An argparse type: a finite float in [low, high] (or (low, high] when `low_open`)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number. Received: {text!r}") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bounds = f"{'above' if low_open else 'from'} {low:g} {'up ' if low_open else ''}to {high:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number {bounds}. Received: {text}")
        return value
    parse.__name__ = "number"
    return parse


def _keras_out(text):
    if not text.endswith(".keras"):
        raise argparse.ArgumentTypeError("must end in .keras: the model and its vocabulary are saved together in "
                                         f"one Keras archive. Received: {text!r}")
    return text


def _train_arguments(args, verbose):
    """The command line of one rank of `rnnkit train --np N`: the same training, one process's
    progress style (the ranks' output goes through mpiexec, not to a terminal)."""
    arguments = ["train", *args.text, "--cell", args.cell, "--units", str(args.units), "--layers", str(args.layers),
                 "--seq-len", str(args.seq_len), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                 "--out", args.out, "--learning-rate", repr(args.learning_rate), "--seed", str(args.seed),
                 "--progress", str(verbose)]
    if args.word is not None:
        arguments.append("--word" if args.word else "--char")
    if args.max_chars:
        arguments += ["--max-chars", str(args.max_chars)]
    return arguments + (["--resume"] if args.resume else [])


def _train(args):
    from rnnkit import language_model
    from rnnkit.distribute import launch
    for path in args.text:
        _regular_file(path, "text file")
    verbose = args.progress or (1 if sys.stdout.isatty() else 2)
    if args.np > 1 and not launch.is_worker():
        return launch.run(args.np, _train_arguments(args, verbose))
    if launch.is_worker():
        from rnnkit import distribute
        distribute.MPIDataParallel()
    try:
        language_model.train(args.text, cell=args.cell, units=args.units, depth=args.layers, seq_len=args.seq_len,
                             epochs=args.epochs, batch_size=args.batch_size, word_level=args.word, out=args.out,
                             resume=args.resume, max_chars=args.max_chars, learning_rate=args.learning_rate,
                             seed=args.seed, verbose=verbose)
    except KeyboardInterrupt:
        return 130
    from rnnkit import distribute
    if distribute.is_chief():
        print(f"saved {args.out} (the model and its vocabulary, in one archive)")
    return 0


def _generate(args):
    from rnnkit import language_model
    model, tokenizer = language_model.load(_regular_file(args.model, "model file"))
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
    tutorial.add_argument("--seed", type=_seed, default=0, help="seed of part 2's random weights")
    tutorial.set_defaults(handler=_tutorial)

    summary = commands.add_parser("summary", help="print the Keras-format summary of a model file")
    summary.add_argument("file", help="a Keras .h5 / .keras file or an rnnkit .npz model")
    summary.add_argument("--plot", metavar="OUT", help="also draw the model's graph to OUT (.svg, or .png with "
                         "matplotlib)")
    summary.set_defaults(handler=_summary)

    predict = commands.add_parser("predict", help="run a saved model on a .npy input, without TensorFlow")
    predict.add_argument("file", help="a Keras .h5 / .keras file or an rnnkit .npz model")
    predict.add_argument("input", help="the input batch, a .npy file")
    predict.add_argument("-o", "--output", help="write the prediction to this .npy file (default: print it)")
    predict.add_argument("--batch-size", type=_integer(1, 2 ** 20), default=32)
    predict.set_defaults(handler=_predict)

    train = commands.add_parser(
        "train", help="train a character- or word-level language model on text (default: the Python docs)")
    train.add_argument("text", nargs="*", help="UTF-8 text files (default: Python's own documentation)")
    train.add_argument("--cell", choices=["lstm", "gru", "simple_rnn"], default="lstm")
    train.add_argument("--units", type=_integer(1, 65536), default=128)
    train.add_argument("--layers", type=_integer(1, 64), default=1, help="stacked recurrent layers")
    train.add_argument("--seq-len", type=_integer(1, 100_000), default=64, help="tokens per training window")
    train.add_argument("--epochs", type=_integer(1, 1_000_000), default=12)
    train.add_argument("--batch-size", type=_integer(1, 2 ** 20), default=64)
    level = train.add_mutually_exclusive_group()
    level.add_argument("--char", dest="word", action="store_false",
                       help="character level (default for a new model; --resume keeps the model's level)")
    level.add_argument("--word", dest="word", action="store_true", help="word level")
    train.add_argument("--out", type=_keras_out, default="model.keras",
                       help="the .keras archive to save (each epoch) with its vocabulary inside; default "
                            "model.keras; locked against a second writer through <out>.lock")
    train.add_argument("--resume", action="store_true", help="continue training the model at --out")
    train.add_argument("--max-chars", type=_positive, help="use only the start of the corpus")
    train.add_argument("--learning-rate", type=_number(0, 10, low_open=True), default=0.005)
    train.add_argument("--seed", type=_seed, default=0)
    train.add_argument("--np", type=_integer(1, 4096), default=1, metavar="N",
                       help="train data-parallel on N processes through mpiexec (the mpi extra: "
                            "pip install 'rnnkit[mpi]'); the same result as one process")
    train.add_argument("--progress", type=_integer(1, 2), help=argparse.SUPPRESS)   # the ranks' progress style
    train.set_defaults(handler=_train, word=None)

    generate = commands.add_parser("generate", help="sample text from a model saved by `rnnkit train`")
    generate.add_argument("model")
    generate.add_argument("--prompt", default="", help="text to start from (only characters the model saw)")
    generate.add_argument("--length", type=_integer(1, 1_000_000), default=300, help="tokens to generate")
    generate.add_argument("--temperature", type=_number(0, 1e6), default=0.7, help="0 for greedy")
    generate.add_argument("--seed", type=_seed, help="for reproducible samples")
    generate.set_defaults(handler=_generate)

    convert = commands.add_parser("convert", help="convert a model file (Keras .h5 of any era, .keras, a TF "
                                  "SavedModel folder, rnnkit .npz) to .keras / .h5 / .weights.h5 / .npz")
    convert.add_argument("input", help="the model file or SavedModel folder to read")
    convert.add_argument("output", help="the file to write; its extension picks the format")
    convert.add_argument("--check", action="store_true",
                         help="predict a random batch before and after; report the largest difference")
    convert.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    convert.set_defaults(handler=_convert)

    export = commands.add_parser("export", help="export a model to ONNX (needs the onnx package)")
    export.add_argument("model", help="a Keras .h5 / .keras file, a SavedModel folder or an rnnkit .npz model")
    export.add_argument("output", help="the .onnx file to write")
    export.add_argument("--right-padded", action="store_true",
                        help="a masked model's inputs are padded at the end of each row (needed to export masks)")
    export.set_defaults(handler=_export)
    return parser


def _one_line(error):
    return re.sub(r"\s*\n\s*", " ", str(error)).strip() or type(error).__name__


def main(argv=None):
    """Runs the command; returns its exit status: 0, 1 for a failure, 2 for a usage error, 130
    for Ctrl-C. Every failure is one line on stderr starting `rnnkit: error:`, never a traceback
    (set RNNKIT_DEBUG=1 to see one for an unexpected error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: usage errors exit 2 (and --help/--version 0)
        return exit_.code if isinstance(exit_.code, int) else 2
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    streams = [(stream, stream.errors) for stream in (sys.stdout, sys.stderr) if hasattr(stream, "reconfigure")]
    for stream, _ in streams:  # text from a file may hold what the terminal cannot encode: escape, never crash
        stream.reconfigure(errors="backslashreplace")
    try:
        return args.handler(args)
    except BrokenPipeError:  # `rnnkit tutorial | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("rnnkit: error: out of memory; try smaller sizes (--units, --batch-size, --seq-len)", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError, EOFError) as error:
        print(f"rnnkit: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: still one line, with a way to see the traceback
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        print(f"rnnkit: error: unexpected {type(error).__name__}: {_one_line(error)} (a bug in rnnkit; "
              "RNNKIT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    finally:
        for stream, errors in streams:
            if not stream.closed:
                stream.reconfigure(errors=errors)


if __name__ == "__main__":
    sys.exit(main())
