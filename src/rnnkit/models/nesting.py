"""A model used as a layer: `encoder(inputs)` inside another functional model, or a model given
to `Sequential.add`.

A nested model is one node of the outer graph. Its call runs the inner layers with caches of
their own (one set per call, so a model called twice backpropagates through both calls and its
layers' gradients sum), and its backward returns the gradient at each of its inputs. The training
loop never sees the nested model's weights as one block: it reads the leaf layers
(`leaf_layers`), so optimizers, regularizers and constraints treat an inner layer exactly as one
of the outer model's own.

What a model must give the mixin (Sequential and Model each do, over their own structure):
    _nested_forward(arrays, masks, training, activity) -> (outputs, output masks, token)
    _nested_backward(token, d_outputs, need_input_grad) -> [dL/d(input) per input] (or None)
    _nested_release(token)                                gives an unused call's caches back
"""

import collections

from rnnkit.layers.base import Cache, _Ledger


def leaf_layers(layers):
    """The layers that own weights, with nested models opened (depth first, in their order), each
    once: a layer shared by an inner and an outer model is trained once."""
    seen, leaves = set(), []

    def walk(entries):
        for layer in entries:
            if isinstance(layer, ModelAsLayer):
                walk(layer._layers)
            elif id(layer) not in seen:
                seen.add(id(layer))
                leaves.append(layer)

    walk(layers)
    return leaves


def model_from_spec(spec, path, placeholders):
    """The nested model a file's parsed spec describes (saving/nested_models.py parses it)."""
    nested, name = spec["config"]["nested"], spec["config"]["name"]
    if nested["graph"] is not None:
        from rnnkit.models.functional import model_from_graph
        model = model_from_graph(path, name, nested["specs"], nested["locations"], nested["graph"], placeholders)
    else:
        from rnnkit.models.sequential import _model_from_file_config
        model = _model_from_file_config(path, name, nested["specs"], nested["locations"], nested["input_shape"],
                                        placeholders)
    if not spec["config"]["trainable"]:
        model.trainable = False
    return model


class ModelAsLayer:
    """The Layer contract (DESIGN.md) for a whole model: called on symbolic tensors it records a
    node; run by an outer model it keeps one cache per call."""

    supports_masking = True
    keras_class_name = None
    call_arguments = ()

    def __init__(self):
        self._layer_ledger = _Ledger()      # this model's pending calls as a layer of another model
        self._trainable = True
        super().__init__()

    # ---- Keras's attributes of a layer ----------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Keras's rule: freezing a model freezes every layer in it (and thawing thaws them)."""
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = bool(value)

    @property
    def weights(self):
        """Every inner weight (references, in `get_weights()` order), keyed `layer/weight`."""
        weights = collections.OrderedDict()
        for layer in self._layers:
            for key, value in layer.weights.items():
                weights[f"{layer.name}/{key}"] = value
        return weights

    @property
    def trainable_weights(self):
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    @property
    def takes_several_inputs(self):
        return len(self._nested_inputs()) > 1

    def check_weights(self, weights, argument="weights"):
        """`weights` validated against every inner layer's and cast, without assigning."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"Argument `{argument}` must be a list of arrays. Received: {type(weights).__name__}")
        counts = [len(layer.weights) for layer in self._layers]
        if len(weights) != sum(counts):
            raise ValueError(f"Model \"{self.name}\" expects {sum(counts)} weight arrays. Received: {len(weights)} "
                             "arrays")
        checked, start = [], 0
        for layer, count in zip(self._layers, counts):
            checked += layer.check_weights(list(weights[start:start + count]), argument) if count else []
            start += count
        return checked

    @classmethod
    def keras_weight_groups(cls, config):
        """Where Keras keeps the inner layers' weights (saving/nested_models.py)."""
        from rnnkit.saving import nested_models
        return nested_models.weight_groups(config)

    def _nested_spec(self, keras2, keras3, specs, key_specs):
        """The spec a file writer takes for this model nested in another (saving/nested_models.py)."""
        for entry in (keras2, keras3):
            entry.pop("compile_config", None)
            entry["config"]["trainable"] = self.trainable
        return {"class_name": self.keras_class_name or "Sequential", "config": {
            "name": self.name, "trainable": self.trainable,
            "nested": {"specs": specs, "key_specs": key_specs, "keras2": keras2, "keras3": keras3,
                       "starts_from_input": True}}}

    def compute_mask(self, x, mask=None):
        """Only the call knows the inner graph's output mask: see `forward_with_masks`."""
        raise TypeError(f"Model \"{self.name}\" gives its output mask with its outputs; call "
                        "forward_with_masks(). Received: a compute_mask() call")

    # ---- running inside another model -----------------------------------------------------------
    def forward_with_masks(self, x, mask=None, training=False, activity=None, **kwargs):
        """(outputs, output masks, cache): the inner graph run on `x` (an array, or a list for
        several inputs) with the outer graph's masks. The cache, None unless training, is the
        caller's and holds this call's inner caches."""
        if kwargs:
            raise TypeError(f"Model \"{self.name}\" takes no call arguments besides its inputs and mask. Received: "
                            f"{sorted(kwargs)}")
        several = len(self._nested_inputs()) > 1
        arrays = list(x) if several else [x]
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * len(arrays)
        outputs, out_masks, token = self._nested_forward(arrays, masks, training, activity)
        single = len(outputs) == 1
        cache = None
        if training:
            cache = Cache(self.name, self._layer_ledger, token, lambda: self._nested_release(token))
        return (outputs[0] if single else outputs), (out_masks[0] if single else out_masks), cache

    def forward_with_cache(self, x, mask=None, training=False, **kwargs):
        outputs, _, cache = self.forward_with_masks(x, mask, training, **kwargs)
        return outputs, cache

    def backward(self, d_out, cache=None, need_input_grad=True):
        """dL/d(inputs) of the call whose cache this is (a list for several inputs); the inner
        layers add the call's weight gradients to their `grads`."""
        if not isinstance(cache, Cache):
            raise RuntimeError(f"Model \"{self.name}\": backward() needs the cache its forward returned. "
                               f"Received: {type(cache).__name__}")
        token = cache.take(self._layer_ledger, self.name)
        cache._release = None            # the backward uses the inner caches up itself
        try:
            d_outs = list(d_out) if isinstance(d_out, (list, tuple)) else [d_out]
            d_inputs = self._nested_backward(token, d_outs, need_input_grad)
        finally:
            cache.close()
        if not need_input_grad:
            return None
        return d_inputs if len(d_inputs) > 1 else d_inputs[0]

