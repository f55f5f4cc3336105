"""The one error type for a bad model, weights or vocabulary file."""


class FileFormatError(ValueError):
    """A file that can't be loaded: damaged, of another kind, or asking for something rnnkit
    refuses to do (run code, read outside the file, allocate more than it declares).

    The message names the file and the place inside it (a JSON path such as
    `config.layers[2].config.units`, or an HDF5 path such as `model_weights/lstm/lstm/kernel:0`).

    Attributes:
        filename: the path of the file, as given.
        location: the place inside it, or None for the file as a whole.
        reason: what was wrong, without the file and the location.
    """

    def __init__(self, filename, location, reason):
        self.filename = filename
        self.location = location
        self.reason = reason
        where = f"{filename!r}" if location is None else f"{filename!r} at {location}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):
        return (type(self), (self.filename, self.location, self.reason))
