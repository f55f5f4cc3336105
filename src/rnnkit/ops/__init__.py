"""Pure functions on arrays: each recurrence's forward and backward. NumPy only.

Each module opens with its math; `sequence` documents the layouts the recurrences share.
"""

from rnnkit.ops.dense import dense_backward, dense_forward  # noqa: F401
from rnnkit.ops.gru import gru_backward, gru_forward  # noqa: F401
from rnnkit.ops.lstm import lstm_backward, lstm_forward  # noqa: F401
from rnnkit.ops.reference import memory_cell_loop  # noqa: F401
from rnnkit.ops.simple_rnn import simple_rnn_backward, simple_rnn_forward  # noqa: F401
