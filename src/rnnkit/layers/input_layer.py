"""InputLayer and Input: declare the shape of a model's input (Keras 3 style first layer)."""

from rnnkit import backend
from rnnkit.layers.base import Layer, check_positive_int, shape_to_tuple
from rnnkit.layers.symbolic import input_tensor

INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8")


class InputLayer(Layer):
    """The entry point of a model: holds the input shape, computes nothing.

    Args:
        input_shape: shape of one sample, without the batch axis.
        batch_size: optional fixed batch size.
        batch_input_shape: the full shape with the batch axis, instead of the two above.
        name: by default Keras 2's `input_1`, `input_2`, ...
    """

    def __init__(self, input_shape=None, batch_size=None, dtype=None, batch_input_shape=None,
                 name=None, sparse=None, ragged=None, **kwargs):
        if name is None:
            name = backend.unique_name("input", zero_based=False)
        if input_shape is None and batch_input_shape is None:
            raise ValueError("InputLayer needs `input_shape` or `batch_input_shape`. Received: neither")
        if sparse or ragged:
            raise ValueError(f"Sparse and ragged inputs are not supported. Received: sparse={sparse}, ragged={ragged}")
        # Token ids come in as integers (Keras 3 text models say Input(dtype="int32")); the layer's
        # own float type stays the default, and `input_dtype` remembers what the input declared.
        self.input_dtype = dtype if dtype in INTEGER_DTYPES else None
        super().__init__(name=name, dtype=None if self.input_dtype else dtype, input_shape=input_shape,
                         batch_size=batch_size, batch_input_shape=batch_input_shape, **kwargs)
        self.build(self._batch_input_shape)

    def _forward(self, x, mask, training):
        return self.check_input(x), None

    def _backward(self, d_out, data, need_input_grad):
        return d_out, {}

    @property
    def output_dtype(self):
        return self.input_dtype or self.dtype

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.output_dtype,
                "sparse": False, "ragged": False, "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, **kwargs):
    """Declares a model input, as `keras.Input`: a symbolic tensor to call layers on and to give
    `keras.Model(inputs, outputs)`, or the first entry of a Sequential.

    Args:
        shape: shape of one sample, e.g. `(timesteps, features)`; None for a variable size.
        batch_size: optional fixed batch size.
        batch_shape: the full shape with the batch axis, instead of the two above.
        dtype: 'float32' (default), 'float64', or an integer type for token ids.

    Returns:
        A KerasTensor.
    """
    if shape is None and batch_shape is None:
        raise ValueError("Input needs `shape` or `batch_shape`. Received: neither")
    if batch_shape is not None:
        batch_shape = shape_to_tuple(batch_shape, "batch_shape")
    elif batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       batch_input_shape=batch_shape, **kwargs)
    return input_tensor(layer)
