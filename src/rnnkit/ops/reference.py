"""The seed tutorial's memory cell, kept literally as a readable reference.

    h_t = tanh(Wx x_t + Wh h_{t-1} + b)      Wx: (H, D), Wh: (H, H), b: (H,)

Keras stores the transposes: kernel = Wx^T (D, H), recurrent_kernel = Wh^T (H, H). The tests
prove `simple_rnn_forward` equals this loop.
"""

import numpy as np


def memory_cell_loop(inputs, Wx, Wh, b, hidden_state_t, print_fn=None):
    """Part 2 of the tutorial: runs one sequence (timesteps, input_dim) through the cell.

    Returns the (timesteps, hidden_size) stack of hidden states; `print_fn`, when given, is called
    with the shape of the states gathered so far after every step, as the tutorial prints it.
    """
    total_hidden_states = []

    # 메모리 셀 동작 (the memory cell at work)
    for input_t in inputs:  # 각 시점에 따라서 입력값이 입력됨.
        output_t = np.tanh(np.dot(Wx, input_t) + np.dot(Wh, hidden_state_t) + b)  # Wx * Xt + Wh * Ht-1 + b(bias)
        total_hidden_states.append(list(output_t))  # 각 시점의 은닉 상태의 값을 계속해서 축적
        if print_fn is not None:
            print_fn(np.shape(total_hidden_states))  # 각 시점 t별 메모리 셀의 출력의 크기는 (timestep, output_dim)
        hidden_state_t = output_t

    total_hidden_states = np.stack(total_hidden_states, axis=0)
    return total_hidden_states
