"""Keras 2's CuDNNLSTM / CuDNNGRU weights, read into LSTM / GRU as Keras 2's own converter did
(`_convert_rnn_weights` in keras/saving/hdf5_format.py of tf.keras 2.x).

What the file holds (units H, input size D, n gates: 4 for LSTM in order i, f, c, o; 3 for GRU in
order z, r, h), and what cuDNN computed with it:
    kernel (D, nH)             per gate g: W_g = kernel[:, g].ravel().reshape(H, D)     (cuDNN's W x)
    recurrent_kernel (H, nH)   per gate g: R_g = recurrent_kernel[:, g]                 (cuDNN's R h)
    bias (2nH,)                input biases b_W (all gates), then recurrent biases b_R
    LSTM: i, f, o = sigmoid(W x + R h + b_W + b_R),  c~ = tanh(W_c x + R_c h + b_Wc + b_Rc)
          c_t = f c_{t-1} + i c~,  h_t = o tanh(c_t)
    GRU:  z, r = sigmoid(W x + R h + b_W + b_R),  h~ = tanh(W_h x + r (R_h h + b_Rh) + b_Wh)
          h_t = z h_{t-1} + (1 - z) h~
So the CPU layer's weights (x W_keras = W x, h U_keras = R h) are, per gate:
    kernel_g = k_g.T.reshape(k_g.shape, order="F")      (= W_g.T)
    recurrent_kernel_g = r_g.T                          (= R_g.T)
    LSTM bias = b_W + b_R (4H,);   GRU bias = [b_W; b_R] (2, 3H), i.e. GRU(reset_after=True)
with activation tanh and recurrent_activation sigmoid (cuDNN's, fixed). A layer is recognised by its
bias's shape, as Keras does: (8H,) for an LSTM, (6H,) for a GRU.
"""

import numpy as np

_GATES = {"LSTM": 4, "GRU": 3}


def _split_point(spec):
    """How many arrays the forward half of a Bidirectional holds."""
    inner = spec["config"]["layer"]
    return 3 if inner["config"].get("use_bias", True) else 2


def stored_layout(spec, wanted, stored_shapes):
    """The (shape, dtype) list to read from a file whose arrays have `stored_shapes`, and a
    function that turns what was read into the layer's arrays; None when the file holds the
    layer's own layout.

    Raises:
        ValueError: for cuDNN weights going into a GRU(reset_after=False), which computes another
            function (Keras refuses this too).
    """
    class_name = spec["class_name"]
    if class_name == "Bidirectional" and len(wanted) == len(stored_shapes):
        half = _split_point(spec)
        backward = spec["config"].get("backward_layer") or spec["config"]["layer"]
        plans = [stored_layout(spec["config"]["layer"], wanted[:half], stored_shapes[:half]),
                 stored_layout(backward, wanted[half:], stored_shapes[half:])]
        if plans == [None, None]:
            return None
        layouts = [plan[0] if plan else part for plan, part in zip(plans, (wanted[:half], wanted[half:]))]

        def convert(arrays):
            parts = (arrays[:half], arrays[half:])
            return [a for plan, part in zip(plans, parts) for a in (plan[1](part) if plan else part)]
        return layouts[0] + layouts[1], convert
    if class_name not in _GATES or len(wanted) != 3 or len(stored_shapes) != 3:
        return None
    n = _GATES[class_name]
    (kernel_shape, dtype), (recurrent_shape, _), _ = wanted
    H = recurrent_shape[0]
    if tuple(stored_shapes[2]) != (2 * n * H,):
        return None
    if class_name == "GRU" and not spec["config"].get("reset_after", True):
        raise ValueError("cuDNN GRU weights (bias of shape (6 * units,)) fit GRU(reset_after=True) only; "
                         "reset_after=False computes another function. Received: a GRU with reset_after=False")
    layout = [(tuple(kernel_shape), dtype), (tuple(recurrent_shape), dtype), ((2 * n * H,), dtype)]
    return layout, lambda arrays: from_cudnn(class_name, *arrays)


def _per_gate(matrix, n, transform):
    return np.hstack([transform(part) for part in np.hsplit(matrix, n)])


def from_cudnn(class_name, kernel, recurrent_kernel, bias):
    """[kernel, recurrent_kernel, bias] of LSTM / GRU(reset_after=True) from a CuDNNLSTM /
    CuDNNGRU's three arrays."""
    n = _GATES[class_name]
    kernel = _per_gate(kernel, n, lambda k: k.T.reshape(k.shape, order="F"))
    recurrent_kernel = _per_gate(recurrent_kernel, n, lambda k: k.T)
    if class_name == "LSTM":
        bias = bias[:bias.shape[0] // 2] + bias[bias.shape[0] // 2:]
    else:
        bias = bias.reshape(2, -1)
    return [np.ascontiguousarray(kernel), np.ascontiguousarray(recurrent_kernel), np.ascontiguousarray(bias)]
