"""A user-defined recurrent cell in NumPy, trained inside `keras.layers.RNN(cell)`.

The cell protocol (docs/cells.md): `state_size`, `output_size`, `build(input_shape)`, one step
`call(x_t, states) -> (output_t, new_states)` and its `backward`:

    backward(d_output, d_new_states, x_t, states) -> (d_x_t, d_states, {weight name: gradient})

on batch-major (batch, features) arrays. The RNN layer runs the cell step by step through the same
scaffold as the built-in cells: masks, dropout (the cell's `dropout` / `recurrent_dropout`),
go_backwards, initial states, return_sequences / return_state, stateful.

    python examples/custom_cell.py
"""

import numpy as np

import rnnkit as keras


class MinimalRNNCell(keras.layers.Layer):
    """Keras's documented example cell: h_t = tanh(x_t W + h_{t-1} U).

    Backward (each line differentiates the one above it):
        dz = d_h (1 - h_t^2)                     from h_t = tanh(z)
        dW = x_t^T dz,  dU = h_{t-1}^T dz        from z = x_t W + h_{t-1} U
        dx_t = dz W^T,  dh_{t-1} = dz U^T
    where d_h = d_output + d_new_states[0] (the output is the state).
    """

    def __init__(self, units, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        self.units = units
        self.state_size = units
        self.output_size = units
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.add_weight(name="recurrent_kernel", shape=(self.units, self.units), initializer="orthogonal")
        self.built = True

    def call(self, inputs, states):
        h = np.tanh(inputs @ self.weights["kernel"] + states[0] @ self.weights["recurrent_kernel"])
        return h, [h]

    def backward(self, d_output, d_new_states, inputs, states):
        h, _ = self.call(inputs, states)                  # recompute the step (cheap here)
        dz = (d_output + d_new_states[0]) * (1.0 - h * h)
        grads = {"kernel": inputs.T @ dz, "recurrent_kernel": states[0].T @ dz}
        return dz @ self.weights["kernel"].T, [dz @ self.weights["recurrent_kernel"].T], grads

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, dropout=self.dropout, recurrent_dropout=self.recurrent_dropout)
        return config


def main():
    keras.backend.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 10, 3)).astype("float32")
    y = np.sin(x.sum(axis=(1, 2)))[:, None].astype("float32")          # a smooth target to learn
    model = keras.Sequential([keras.Input(shape=(10, 3)),
                              keras.layers.RNN(MinimalRNNCell(16, dropout=0.1)),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    print(f"MinimalRNNCell in RNN: loss {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}")


if __name__ == "__main__":
    main()
