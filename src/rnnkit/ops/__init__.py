"""Pure functions on arrays: the sequence scaffold and each recurrence's cell math. NumPy only.

Each module opens with its math; `scaffold` runs any cell over a sequence (projection, masks,
dropout, direction, states, weight-gradient products); `sequence` documents the layouts.
"""

from rnnkit.ops import scaffold  # noqa: F401
from rnnkit.ops.dense import dense_backward, dense_forward  # noqa: F401
from rnnkit.ops.gru import gru_backward, gru_forward  # noqa: F401
from rnnkit.ops.lstm import lstm_backward, lstm_forward  # noqa: F401
from rnnkit.ops.reference import memory_cell_loop  # noqa: F401
from rnnkit.ops.simple_rnn import simple_rnn_backward, simple_rnn_forward  # noqa: F401
