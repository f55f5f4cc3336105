"""Keras 2's `fit_generator`, `evaluate_generator` and `predict_generator`, kept for the programs
written with them (Deep Learning with Python's first edition, Keras 2's examples).

tf.keras 2.x keeps them as deprecated names of `fit`, `evaluate` and `predict`, which take a
generator themselves: each warns once per call and hands its arguments on unchanged, so the
defaults that differ are Keras 2's (`verbose=1` here, where `fit` says 'auto'; `verbose=0` for
`evaluate_generator` and `predict_generator`). Keras 3 removed them.
"""

import warnings


def _warn_deprecated(name, replacement):
    warnings.warn(f"`Model.{name}` is deprecated: `Model.{replacement}` takes a generator itself. "
                  f"Use `Model.{replacement}`.", UserWarning, stacklevel=3)


def _inference_twin(replacement, summary):
    """`evaluate_generator` or `predict_generator`: Keras 2's signature, one call of `replacement`."""
    def method(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1, use_multiprocessing=False,
               verbose=0):
        _warn_deprecated(f"{replacement}_generator", replacement)
        return getattr(self, replacement)(generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                                          workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose)
    method.__name__ = method.__qualname__ = f"{replacement}_generator"
    method.__doc__ = (f"{summary} Deprecated, as in Keras 2: the same as "
                      f"`{replacement}(generator, steps=steps, ...)`.")
    return method


class GeneratorMethodsMixin:
    """Keras 2's deprecated generator methods, each one call of `fit` / `evaluate` / `predict`."""

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Trains on batches yielded by a generator, a keras.utils.Sequence or an iterable.

        Deprecated, as in Keras 2: the same as `fit(generator, ...)`.

        Args:
            generator: yields (x, y) or (x, y, sample_weight) batches.
            steps_per_epoch: batches per epoch (needed for an endless generator).
            validation_data: (x_val, y_val) arrays, or a generator of batches.
            validation_steps: batches drawn from a validation generator each time.
            max_queue_size, workers, use_multiprocessing: accepted; rnnkit reads batches in the
                calling thread.
            Others: as for `fit`.

        Returns:
            A History.
        """
        _warn_deprecated("fit_generator", "fit")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    evaluate_generator = _inference_twin("evaluate", "The loss (and metrics) over batches yielded by a generator.")
    predict_generator = _inference_twin("predict", "The outputs for batches yielded by a generator, stacked.")
