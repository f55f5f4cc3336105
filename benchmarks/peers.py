"""The same recurrent work in each library, float32: a forward pass (inference) and one training
step (forward + backward + SGD update with learning rate 0.01, mean squared error against a
fixed target on the whole output sequence). Each peer returns {"forward": fn, "train": fn}, or
None when its library is not installed.

    rnnkit   Sequential([Cell(units, return_sequences=True)]): predict_on_batch, train_on_batch
             (rnnkit_numpy, rnnkit_compiled, rnnkit_steps: the same on one recurrence path)
    torch    nn.RNN / nn.LSTM / nn.GRU (batch_first): inference_mode forward; SGD step
    tf_keras Sequential([Cell(units, return_sequences=True)]): tf.function forward, train_on_batch
    jax      lax.scan over the cell, jit forward; jit(value_and_grad) + SGD update
"""

import numpy as np

CELLS = ("simple_rnn", "lstm", "gru")
LEARNING_RATE = 0.01


def gates(cell):
    return {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell]


def data(batch, time, features, units):
    rng = np.random.default_rng(0)
    return rng.normal(size=(batch, time, features)).astype("float32"), np.zeros((batch, time, units), "float32")


def rnnkit_peer(cell, batch, time, features, units):
    import rnnkit
    from rnnkit import layers, optimizers
    from rnnkit.models import Sequential

    layer_class = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    rnnkit.backend.clear_session()
    model = Sequential([layer_class(units, return_sequences=True, input_shape=(time, features))])
    model.compile(optimizers.SGD(LEARNING_RATE), "mse")
    x, y = data(batch, time, features, units)
    return {"forward": lambda: model.predict_on_batch(x), "train": lambda: model.train_on_batch(x, y)}


def _on_path(fns, backend, per_step=False):
    """rnnkit's functions on one recurrence path, set before every call (the switch is global):
    'numpy', or 'compiled' (the whole-sequence loops; with `per_step`, their BLAS look-up turned
    off so that the per-step compiled loops run: the path before the sequence loops)."""
    from rnnkit.ops import kernels

    def on_path(fn):
        def call():
            kernels.set_backend(backend)
            kernels._state["gemm"] = False if per_step else kernels._state["gemm"] or None
            return fn()
        return call
    return {work: on_path(fn) for work, fn in fns.items()}


def rnnkit_numpy_peer(cell, batch, time, features, units):
    return _on_path(rnnkit_peer(cell, batch, time, features, units), "numpy")


def rnnkit_compiled_peer(cell, batch, time, features, units):
    return _on_path(rnnkit_peer(cell, batch, time, features, units), "compiled")


def rnnkit_steps_peer(cell, batch, time, features, units):
    return _on_path(rnnkit_peer(cell, batch, time, features, units), "compiled", per_step=True)


def torch_peer(cell, batch, time, features, units):
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    module = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    net = module(features, units, batch_first=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    x_np, y_np = data(batch, time, features, units)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    loss_fn = torch.nn.MSELoss()

    def forward():
        with torch.inference_mode():
            return net(x)[0]

    def train():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(x)[0], y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return {"forward": forward, "train": train}


def tf_keras_peer(cell, batch, time, features, units):
    try:
        import os
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        import tf_keras
    except ImportError:
        return None
    tf.random.set_seed(0)
    layer_class = {"simple_rnn": tf_keras.layers.SimpleRNN, "lstm": tf_keras.layers.LSTM,
                   "gru": tf_keras.layers.GRU}[cell]
    model = tf_keras.Sequential([layer_class(units, return_sequences=True, input_shape=(time, features))])
    model.compile(tf_keras.optimizers.SGD(LEARNING_RATE), "mse")
    x_np, y_np = data(batch, time, features, units)
    x, y = tf.constant(x_np), tf.constant(y_np)
    forward_fn = tf.function(lambda inputs: model(inputs, training=False))
    return {"forward": lambda: forward_fn(x).numpy(), "train": lambda: model.train_on_batch(x, y)}


def jax_peer(cell, batch, time, features, units):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    G = gates(cell)
    key = jax.random.PRNGKey(0)
    k1, k2 = jax.random.split(key)
    params = {"W": jax.random.normal(k1, (features, G * units)) * 0.1,
              "U": jax.random.normal(k2, (units, G * units)) * 0.1, "b": jnp.zeros(G * units)}
    if cell == "gru":
        params["b_h"] = jnp.zeros(G * units)

    def step(p, carry, x_t):
        if cell == "simple_rnn":
            h = jnp.tanh(x_t @ p["W"] + carry @ p["U"] + p["b"])
            return h, h
        if cell == "lstm":
            h, c = carry
            z = x_t @ p["W"] + h @ p["U"] + p["b"]
            i, f, g, o = jnp.split(z, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        x_proj = x_t @ p["W"] + p["b"]
        h_proj = carry @ p["U"] + p["b_h"]
        xz, xr, xh = jnp.split(x_proj, 3, axis=-1)
        hz, hr, hh = jnp.split(h_proj, 3, axis=-1)
        z, r = jax.nn.sigmoid(xz + hz), jax.nn.sigmoid(xr + hr)
        candidate = jnp.tanh(xh + r * hh)
        h = z * carry + (1 - z) * candidate
        return h, h

    def run(p, x):
        zeros = jnp.zeros((x.shape[0], units))
        carry = (zeros, zeros) if cell == "lstm" else zeros
        _, hs = jax.lax.scan(lambda c, x_t: step(p, c, x_t), carry, jnp.swapaxes(x, 0, 1))
        return jnp.swapaxes(hs, 0, 1)

    def loss(p, x, y):
        return jnp.mean((run(p, x) - y) ** 2)

    forward_fn = jax.jit(run)

    @jax.jit
    def train_fn(p, x, y):
        value, grads = jax.value_and_grad(loss)(p, x, y)
        return jax.tree_util.tree_map(lambda w, g: w - LEARNING_RATE * g, p, grads), value

    x_np, y_np = data(batch, time, features, units)
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)
    state = {"params": params}

    def train():
        state["params"], value = train_fn(state["params"], x, y)
        return value.block_until_ready()

    return {"forward": lambda: forward_fn(state["params"], x).block_until_ready(), "train": train}


PEERS = {"rnnkit": rnnkit_peer, "torch": torch_peer, "tf_keras": tf_keras_peer, "jax": jax_peer}
# rnnkit's own paths side by side (not in the default grid): `--peers rnnkit_numpy,rnnkit_compiled,...`
VARIANTS = {"rnnkit_numpy": rnnkit_numpy_peer, "rnnkit_compiled": rnnkit_compiled_peer,
            "rnnkit_steps": rnnkit_steps_peer}
