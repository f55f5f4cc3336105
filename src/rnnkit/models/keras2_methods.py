"""Keras 2's deprecated Model methods, kept for the programs written with them (Deep Learning with
Python's first edition, Keras 2's examples).

- `fit_generator`, `evaluate_generator`, `predict_generator` (both kinds of model): tf.keras 2.x
  keeps them as deprecated names of `fit`, `evaluate` and `predict`, which take a generator
  themselves. Each warns and hands its arguments on unchanged, so the defaults that differ are
  Keras 2's (`verbose=1` for fit_generator, where `fit` says 'auto'; `verbose=0` for the others).
- `predict_classes`, `predict_proba` (Sequential only, as in Keras 2; tf.keras removed them in
  2.6): the class of each sample is argmax over the last axis when it has several units, else
  1 where the one output is > 0.5 (int32, shape kept); predict_proba is predict, warning when an
  output lies outside [0, 1]. Defaults batch_size=32, verbose=0.
Keras 3 has none of them.
"""

import warnings


def _warn_deprecated(name, replacement, instead=None):
    reason = f"`Model.{replacement}` takes a generator itself" if instead is None else "tf.keras 2.6 removed it"
    warnings.warn(f"`Model.{name}` is deprecated: {reason}. Use `{instead or 'Model.' + replacement}`.",
                  UserWarning, stacklevel=3)


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


class ClassPredictionMixin:
    """Keras 2's Sequential.predict_classes / predict_proba (removed in tf.keras 2.6)."""

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class predictions: argmax over the last axis of `predict(x)` when it has several
        units; for one unit (a sigmoid), 1 where the output is > 0.5, else 0 (int32, shape kept).
        Deprecated, as in tf.keras 2.5."""
        _warn_deprecated("predict_classes", "predict", "np.argmax(model.predict(x), axis=-1), or "
                         "(model.predict(x) > 0.5).astype('int32') for one sigmoid unit")
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """`predict(x)`, warning when an output is not a probability (outside [0, 1]).
        Deprecated, as in tf.keras 2.5."""
        _warn_deprecated("predict_proba", "predict", "model.predict(x)")
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.min() < 0.0 or probabilities.max() > 1.0:
            warnings.warn("The model's outputs are not probabilities (some lie outside [0, 1]): its last layer "
                          "does not normalize them as softmax or sigmoid would.", UserWarning, stacklevel=2)
        return probabilities
