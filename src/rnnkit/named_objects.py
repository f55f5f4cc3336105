"""Keras's three ways of naming a configurable object (a name, a config dict, the object itself),
resolved the same way for regularizers and constraints: only rnnkit's own classes, never code
from a file."""


def resolve(identifier, argument, base, by_name, by_class):
    """None, an instance of `base`, a name in `by_name`/`by_class` or Keras's config dict
    {"class_name", "config"} -> an instance of `base`, or None.

    Raises:
        ValueError: for an unknown name or class, or a config the class does not take.
        TypeError: for anything else.
    """
    kind = base.__name__
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        make = by_name.get(identifier) or by_class.get(identifier)
        if make is None:
            raise ValueError(f"Argument `{argument}` must be one of {sorted(by_name)}, a {kind} or a config "
                             f"dict. Received: {identifier!r}")
        return make()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = by_class.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Argument `{argument}` names a {kind.lower()} class rnnkit does not have (custom ones "
                             f"cannot be loaded from a file); known: {sorted(by_class)}. "
                             f"Received: {identifier['class_name']!r}")
        config = dict(identifier.get("config") or {})
        try:
            return cls.from_config(config)
        except TypeError:
            raise ValueError(f"Argument `{argument}`: {identifier['class_name']} takes {sorted(cls().get_config())}. "
                             f"Received: config={config!r}") from None
    raise TypeError(f"Argument `{argument}` must be a name, a {kind} or a config dict. Received: {identifier!r}")


def serialize(obj):
    """Keras 2's config form, or None."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}
