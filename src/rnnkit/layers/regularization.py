"""Weight regularizers, activity regularizers and constraints of a layer (Keras's `*_regularizer`,
`activity_regularizer` and `*_constraint` arguments), with what a training loop needs of them:

    penalty   = sum_k regularizer_k(w_k)                       (pre-update weights)
    dL/dw_k  += regularizer_k.gradient(w_k)
    activity  = activity_regularizer(y) / batch                 (y: the layer's output in training)
    dL/dy    += activity_regularizer.gradient(y) / batch
    a wrapped layer (tf_keras: the inner layer's own __call__ adds it): the same for each output y of
    each inner call, `batch` being that call's: a Bidirectional's two directions each on (B, ...),
    a TimeDistributed's one call on the steps folded into the batch, so y is (B*T, ...), / (B*T)
    after each optimizer update: w_k <- constraint_k(w_k)

The layer itself only holds them; the loop that owns the loss calls these methods:
models/training.py adds the weight penalties (and their gradients), the activity penalties of the
layer outputs of that call (and their gradients at those outputs, in the model's backward), and
projects the constrained weights after each update. Prediction ignores them all, as Keras does;
`evaluate` reports the loss with the penalties, as tf_keras does.
"""

# Set to True by a training loop that adds the penalties and applies the constraints (the hook of
# models/training.py, issue 13): until then training a layer that holds them raises.
LOOP_APPLIES_PENALTIES = True   # models/training.py applies all of them

from rnnkit import constraints as constraints_module
from rnnkit import regularizers as regularizers_module


class WeightPenalties:
    """Mixin: `self.weight_regularizers` / `self.weight_constraints` map weight names to objects."""

    weight_regularizers = {}
    weight_constraints = {}
    activity_regularizer = None

    def _set_penalties(self, regularizers=None, constraints=None, activity_regularizer=None):
        """`regularizers` / `constraints`: {weight name: identifier}, keyed by Keras's argument prefix
        (`kernel`, `bias`, ...)."""
        self.weight_regularizers = {name: regularizers_module.get(value, f"{name}_regularizer")
                                    for name, value in (regularizers or {}).items()}
        self.weight_constraints = {name: constraints_module.get(value, f"{name}_constraint")
                                   for name, value in (constraints or {}).items()}
        self.activity_regularizer = regularizers_module.get(activity_regularizer, "activity_regularizer")

    def _penalty_config(self):
        config = {f"{name}_regularizer": regularizers_module.serialize(r)
                  for name, r in self.weight_regularizers.items()}
        config["activity_regularizer"] = regularizers_module.serialize(self.activity_regularizer)
        config.update({f"{name}_constraint": constraints_module.serialize(c)
                       for name, c in self.weight_constraints.items()})
        return config

    def has_penalties(self):
        """Whether any regularizer or constraint is set."""
        return (self.activity_regularizer is not None or any(r is not None for r in self.weight_regularizers.values())
                or any(c is not None for c in self.weight_constraints.values()))

    def regularization_penalty(self):
        """The weight penalties' sum for the current weights (0.0 without regularizers)."""
        return sum(r(self.weights[name]) for name, r in self.weight_regularizers.items()
                   if r is not None and name in self.weights)

    def regularization_gradients(self):
        """{weight name: d penalty / d weight} for the regularized weights."""
        return {name: r.gradient(self.weights[name]) for name, r in self.weight_regularizers.items()
                if r is not None and name in self.weights}

    def activity_penalty(self, outputs):
        """activity_regularizer(outputs) / batch size, or 0.0."""
        if self.activity_regularizer is None:
            return 0.0
        return self.activity_regularizer(outputs) / max(len(outputs), 1)

    def activity_gradient(self, outputs):
        """d activity_penalty / d outputs, or None without an activity regularizer."""
        if self.activity_regularizer is None:
            return None
        return self.activity_regularizer.gradient(outputs) / max(len(outputs), 1)

    def apply_constraints(self):
        """Projects each constrained weight in place (after an optimizer update)."""
        for name, c in self.weight_constraints.items():
            if c is not None and name in self.weights:
                w = self.weights[name]
                w[...] = c(w)


class WrappedPenalties:
    """Mixin for wrappers (Bidirectional, TimeDistributed): the weight penalties and constraints of
    the layers they hold, under the wrapper's own weight names. Keras sums the inner layers'
    losses, so a Bidirectional's forward and backward copies each add their penalty."""

    activity_regularizer = None

    def _penalty_parts(self):
        """[(prefix of the inner layer's weights in this wrapper's `weights`, inner layer)]."""
        raise NotImplementedError

    def _penalized_parts(self):
        return [(prefix, layer) for prefix, layer in self._penalty_parts()
                if getattr(layer, "has_penalties", None) and layer.has_penalties()]

    def has_penalties(self):
        return bool(self._penalized_parts())

    # The loops of models/ hand a wrapper their list of activity penalties as `activity=`.
    collects_inner_activity = True

    def inner_activity_regularized(self):
        """The inner layers with an activity regularizer (a wrapper's inner wrappers' too)."""
        found = []
        for _, layer in self._penalty_parts():
            if getattr(layer, "activity_regularizer", None) is not None:
                found.append(layer)
            if isinstance(layer, WrappedPenalties):
                found += layer.inner_activity_regularized()
        return found

    @staticmethod
    def _inner_call(layer, x, mask, training, activity, **kwargs):
        """`layer.forward_with_cache` with what tf_keras's Layer.__call__ adds to the losses: each
        output's activity penalty, appended to `activity` when given. Returns (outputs, cache,
        the outputs a training backward differentiates the penalty at, or None)."""
        if getattr(layer, "collects_inner_activity", False):
            kwargs["activity"] = activity        # a wrapper inside: its own inner layers' penalties
        outputs, cache = layer.forward_with_cache(x, mask, training, **kwargs)
        if getattr(layer, "activity_regularizer", None) is None:
            return outputs, cache, None
        if activity is not None:
            activity.extend(layer.activity_penalty(y) for y in _outputs_list(outputs))
        return outputs, cache, (outputs if training else None)

    @staticmethod
    def _with_inner_activity_gradient(layer, d_out, regularized):
        """dL/d(outputs) of an inner call plus its activity penalties' gradients (`regularized`:
        the outputs `_inner_call` kept, or None)."""
        if regularized is None:
            return d_out
        if not isinstance(regularized, (list, tuple)):
            return layer.activity_gradient(regularized) + (0 if d_out is None else d_out)
        return [layer.activity_gradient(y) + (0 if d is None else d) for d, y in zip(d_out, regularized)]

    def regularization_penalty(self):
        return sum(layer.regularization_penalty() for _, layer in self._penalized_parts())

    def regularization_gradients(self):
        return {prefix + name: grad for prefix, layer in self._penalized_parts()
                for name, grad in layer.regularization_gradients().items()}

    def apply_constraints(self):
        for _, layer in self._penalized_parts():
            layer.apply_constraints()


def _outputs_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
