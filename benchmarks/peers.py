"""The same recurrent work in each library: a forward pass and one training step
(forward + backward + SGD update, MSE against a fixed target on the whole output sequence)."""

import numpy as np

CELLS = ("simple_rnn", "lstm", "gru")


def rnnkit_peer(cell, batch, time, features, units, lr=0.01):
    import rnnkit
    from rnnkit import layers, optimizers
    from rnnkit.models import Sequential

    layer_class = {"simple_rnn": layers.SimpleRNN, "lstm": getattr(layers, "LSTM", None),
                   "gru": getattr(layers, "GRU", None)}[cell]
    if layer_class is None:
        return None
    rnnkit.backend.clear_session()
    model = Sequential([layer_class(units, return_sequences=True, input_shape=(time, features))])
    model.compile(optimizers.SGD(lr), "mse")
    x = np.random.default_rng(0).normal(size=(batch, time, features)).astype("float32")
    y = np.zeros((batch, time, units), "float32")
    return {"forward": lambda: model.predict_on_batch(x), "train": lambda: model.train_on_batch(x, y)}


def torch_peer(cell, batch, time, features, units, lr=0.01):
    try:
        import torch
    except ImportError:
        return None
    module = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    net = module(features, units, batch_first=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    x = torch.randn(batch, time, features)
    y = torch.zeros(batch, time, units)
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


PEERS = {"rnnkit": rnnkit_peer, "torch": torch_peer}
