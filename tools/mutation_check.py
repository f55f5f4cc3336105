"""Mutation check: do the tests catch deliberate bugs?

Each mutation below is an exact-string replacement in one file under src/. The tool copies the
repository (without .venv, .git, caches) into a temporary folder, links the shared fixtures next to
it (a link, not a copy), and for each mutation in turn: applies it, runs the mutation's tests there
with the current virtual environment's python and PYTHONPATH pointing at the copy's src (checked
before anything runs: the copy is what gets imported), records the result, restores the file.

Results:
    caught            a test that is not a finite-difference gradient check failed
    caught (gradcheck) only a gradient check failed (a selected test calling
                      rnnkit.utils.gradient_check_error or tests' finite_difference_check)
    caught (timeout)  the tests ran past --timeout
    SURVIVED          every selected test passed: add or strengthen a test
    ERROR             the anchor string is not in the file exactly once (update the list), or
                      the selection collected no tests

Not collected by pytest and not part of `make test`: run it by hand, e.g.
    .venv/bin/python tools/mutation_check.py            # all
    .venv/bin/python tools/mutation_check.py --list
    .venv/bin/python tools/mutation_check.py --only lstm_forget_gate_dc_carry adam_epsilon_inside_sqrt
Exit status 0 only when every mutation is caught.
"""

import argparse
import ast
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

# A test whose judge is a finite-difference gradient check calls one of these (directly or through
# a helper in its module); such tests are found by reading the test files (see `gradcheck_tests`).
GRADCHECK_CALLS = {"finite_difference_check", "gradient_check_error"}

OPS = "src/rnnkit/ops/"
REPLAY = "tests/training/test_keras_replay.py"
PARITY = "tests/layers/test_keras_parity.py"
MASKS = "tests/layers/test_states_and_masks.py"
GRADS = "tests/layers/test_gradients.py"
OPTIM = "tests/test_optimizers.py"
SIMPLE = [f"{OPS}simple_rnn.py", ["tests/ops/test_simple_rnn.py", REPLAY, PARITY, GRADS]]
LSTM = [f"{OPS}lstm.py", ["tests/ops/test_lstm.py", REPLAY, PARITY, GRADS]]
GRU = [f"{OPS}gru.py", ["tests/ops/test_gru.py", REPLAY, PARITY, GRADS]]
SEQ = [f"{OPS}sequence.py", ["tests/ops", MASKS, REPLAY, PARITY, GRADS]]
CELL_API = "tests/layers/test_cell_api.py"
KERNEL_TESTS = "tests/ops/test_kernels.py"
LN_LSTM = [f"{OPS}layer_norm_lstm.py", ["tests/ops/test_layer_norm_lstm.py"]]
SCAFFOLD = [f"{OPS}scaffold.py", ["tests/ops", GRADS]]
STEP = [f"{OPS}scaffold.py", [CELL_API]]
CACHES = ["src/rnnkit/layers/base.py", ["tests/layers/test_caches.py"]]
CELLS_LAYER = ["src/rnnkit/layers/cells.py", ["tests/layers/test_caches.py", CELL_API]]
RECURRENT_LAYER = ["src/rnnkit/layers/recurrent.py", [CELL_API]]
BIDIR = ["src/rnnkit/layers/bidirectional.py", [REPLAY, PARITY, GRADS]]
DISTRIBUTE = ["src/rnnkit/distribute/data_parallel.py", ["tests/distribute/test_data_parallel.py"]]
OPTIM_MORE = "tests/test_optimizers_extra.py"
OPT = ["src/rnnkit/optimizers/__init__.py", [OPTIM, OPTIM_MORE, REPLAY, "tests/training/test_keras_graph_replay.py",
                                            "tests/training/test_optimizer_graph_replay.py"]]
SCHED = ["src/rnnkit/optimizers/schedules.py", [OPTIM_MORE, "tests/training/test_keras_graph_replay.py"]]
WEIGHTS = ["src/rnnkit/models/training.py", ["tests/training/test_keras_graph_replay.py",
                                              "tests/training/test_data_input.py"]]
ADAPTER = ["src/rnnkit/utils/data_adapter.py", ["tests/training/test_keras_graph_replay.py",
                                               "tests/training/test_data_input.py"]]
METRICS = ["src/rnnkit/metrics.py", ["tests/test_metrics.py", "tests/training/test_keras_graph_replay.py"]]
LOSS = ["src/rnnkit/losses.py", [REPLAY, "tests/training/test_fit.py", "tests/training/test_model_gradients.py"]]
LOAD = ["src/rnnkit/saving/keras_weights.py", ["tests/saving/test_keras_files.py", PARITY]]
SUMMARY = ["src/rnnkit/models/summary.py", ["tests/models/test_summary.py", MASKS]]
TEXT = ["src/rnnkit/preprocessing/text.py", ["tests/preprocessing/test_text.py"]]
INIT = ["src/rnnkit/initializers.py", ["tests/test_initializers.py"]]
REGRESSION_LOSSES = ["src/rnnkit/losses.py", ["tests/training/test_regression_losses.py"]]
KERAS2_METHODS = ["src/rnnkit/models/keras2_methods.py", ["tests/models/test_keras2_methods.py"]]
GRAPH = ["src/rnnkit/models/functional.py", ["tests/models/test_functional_gradients.py",
                                           "tests/training/test_functional_training_replay.py"]]
MERGE = ["src/rnnkit/ops/merge.py", ["tests/models/test_functional_gradients.py"]]
MERGE_KERAS3 = ["src/rnnkit/ops/merge.py", ["tests/models/test_functional.py",
                                            "tests/models/test_functional_gradients.py"]]
GRAPH_WRITE = ["src/rnnkit/saving/graph_config.py", ["tests/models/test_functional.py"]]
ONNX_GRAPH = ["src/rnnkit/saving/onnx_export.py", ["tests/saving/test_onnx_export_functional.py"]]
ONNX_NESTED = ["src/rnnkit/saving/onnx_export.py", ["tests/saving/test_onnx_export_nested.py"]]
GUARD = ["src/rnnkit/saving/guarded.py", ["tests/saving/test_hostile_files.py", "tests/saving/test_fuzz_files.py"]]

AROUND = "tests/layers/test_layers_around_the_rnn.py"
CONV = ["src/rnnkit/ops/conv1d.py", [AROUND]]
CONV_ND = ["src/rnnkit/ops/convolution.py", [AROUND, "tests/ops/test_conv_lstm.py"]]
CONV_VARIANTS = ["src/rnnkit/ops/conv1d.py", ["tests/layers/test_conv1d_variants.py"]]
CONV_LSTM = ["src/rnnkit/ops/conv_lstm.py", ["tests/ops/test_conv_lstm.py", "tests/layers/test_conv_lstm_layers.py"]]
POOL = ["src/rnnkit/ops/pooling.py", [AROUND]]
NORM = ["src/rnnkit/ops/normalization.py", [AROUND]]
BN_LAYER = ["src/rnnkit/layers/normalization.py", [AROUND]]
ACTS = ["src/rnnkit/ops/activations.py", [AROUND]]
RESHAPE = ["src/rnnkit/layers/reshaping.py", [AROUND]]
ACT_LAYERS = ["src/rnnkit/layers/activation_layers.py", [AROUND]]
DENSE_OPS = ["src/rnnkit/ops/dense.py", [AROUND]]
REGS = ["src/rnnkit/regularizers.py", ["tests/layers/test_regularization.py"]]
CONSTR = ["src/rnnkit/constraints.py", ["tests/layers/test_regularization.py"]]
PENALTIES = ["src/rnnkit/layers/regularization.py", ["tests/layers/test_regularization.py"]]

NESTED_TESTS = ["tests/models/test_nested_models.py"]
NESTED_GRAPH = ["src/rnnkit/models/functional.py", NESTED_TESTS]
NESTED_GRAPH_REG = ["src/rnnkit/models/functional.py", ["tests/layers/test_regularization.py"]]
NESTING = ["src/rnnkit/models/nesting.py", NESTED_TESTS]
NESTED_STACK = ["src/rnnkit/models/sequential.py", NESTED_TESTS]

_SQUARE_T = "(lambda a: a.T if a.ndim == 2 and a.shape[0] == a.shape[1] else a)"

# (name, area, [file, tests], old, new)
MUTATIONS = [
    # ---- cells' backward --------------------------------------------------------------------
    ("simple_rnn_dh_uses_U_not_UT", "SimpleRNN backward", SIMPLE,
     "np.dot(recurrent_kernel, d, out=dh_next)       # U dz_t",
     "np.dot(recurrent_kernel.T, d, out=dh_next)     # U dz_t"),
    ("simple_rnn_no_act_derivative", "SimpleRNN backward", SIMPLE,
     "            d *= deriv[t]", "            d *= 1.0"),
    ("simple_rnn_masked_step_drops_carry", "SimpleRNN backward / mask", SIMPLE,
     "            dh_next += carry", "            dh_next += 0.0"),
    ("lstm_output_gate_uses_dc_factor", "LSTM backward (o)", LSTM,
     "np.multiply(gh, from_gh_to_dzo[t], out=d[O])", "np.multiply(gh, from_gh_to_dc[t], out=d[O])"),
    ("lstm_input_gate_uses_candidate_factor", "LSTM backward (i)", LSTM,
     "np.multiply(dc, from_dc_to_dzi[t], out=d[I])", "np.multiply(dc, from_dc_to_dzg[t], out=d[I])"),
    ("lstm_forget_gate_uses_c_t_not_c_prev", "LSTM backward (f)", LSTM,
     "from_dc_to_dzf[1:] *= cs[:-1]", "from_dc_to_dzf[1:] *= cs[1:]"),
    ("lstm_candidate_uses_f_not_i", "LSTM backward (c)", LSTM,
     "from_dc_to_dzg *= i                                 # dz_c",
     "from_dc_to_dzg *= f                                 # dz_c"),
    ("lstm_forget_gate_dc_carry", "LSTM backward (dc_{t-1})", LSTM,
     "np.multiply(dc, forget[t], out=dc_next)", "np.copyto(dc_next, dc)"),
    ("lstm_masked_step_does_not_carry_dc", "LSTM backward / mask", LSTM,
     "        np.copyto(forget, 1.0, where=np.broadcast_to(hold, forget.shape))", "        pass"),
    ("gru_update_gate_sign", "GRU backward (z)", GRU,
     "from_gh_to_dzz -= hh", "from_gh_to_dzz += hh"),
    ("gru_after_direct_path_ignores_z", "GRU reset_after=True (dh_{t-1})", GRU,
     "dh_next += np.multiply(gh, direct[t], out=scratch)\n        # the recurrent side's",
     "dh_next += gh\n        # the recurrent side's"),
    ("gru_before_direct_path_ignores_z", "GRU reset_after=False (dh_{t-1})", GRU,
     "dh_next += np.multiply(gh, direct[t], out=scratch)\n        kept[\"spare_by_feature\"]",
     "dh_next += gh\n        kept[\"spare_by_feature\"]"),
    ("gru_after_reset_gate_from_z", "GRU reset_after=True (r)", GRU,
     "np.multiply(d[HH], from_dzh_to_dzr[t], out=d[R])", "np.multiply(d[Z], from_dzh_to_dzr[t], out=d[R])"),
    ("gru_after_recurrent_candidate_misses_r", "GRU reset_after=True (dU_h, b_hh)", GRU,
     'kept["dzh_r"] = np.multiply(dz[:, HH], r, out=spare)', 'kept["dzh_r"] = np.multiply(dz[:, HH], 1.0, out=spare)'),
    ("gru_after_dh_misses_r", "GRU reset_after=True (dh_{t-1})", GRU,
     "np.multiply(d[HH], r[t], out=du[HH])", "np.copyto(du[HH], d[HH])"),
    ("gru_before_reset_gate_factor", "GRU reset_after=False (r)", GRU,
     "np.multiply(d_rh, from_drh_to_dzr[t], out=d[R])", "np.multiply(d_rh, r[t], out=d[R])"),
    # ---- the layer-normalised LSTM (one ops file) --------------------------------------------------
    ("ln_lstm_norm_backward_drops_the_mean", "LayerNormLSTM backward (LN)", LN_LSTM,
     "    d_hat -= mean_d\n", "\n"),
    ("ln_lstm_masked_step_drops_dc", "LayerNormLSTM backward / mask", LN_LSTM,
     "np.copyto(forget, 1.0, where=np.broadcast_to(hold, forget.shape))", "pass"),
    ("ln_lstm_recurrent_gamma_without_hat", "LayerNormLSTM backward (g_h)", LN_LSTM,
     '"recurrent_norm_gamma": _sum_of_product(dz, u_hat, all_gates),',
     '"recurrent_norm_gamma": dz.sum(axis=(0, 2)),'),
    ("ln_lstm_input_norm_not_backpropagated", "LayerNormLSTM backward (LN(a))", LN_LSTM,
     "normalise_backward(dz, w[\"kernel_norm_gamma\"], kept[\"a_hat\"], kept[\"a_r\"], dz, all_gates,",
     "(lambda *a: None)(dz, w[\"kernel_norm_gamma\"], kept[\"a_hat\"], kept[\"a_r\"], dz, all_gates,"),
    ("ln_lstm_output_gate_without_derivative", "LayerNormLSTM backward (o)", LN_LSTM,
     "from_gh_to_dzo = activations.derivative_into(ra, o, o, from_dc_to_dzg)",
     "from_gh_to_dzo = np.copyto(o, 1.0) or o"),
    ("ln_lstm_state_gamma_without_hat", "LayerNormLSTM backward (g_c)", LN_LSTM,
     '"state_norm_gamma": _sum_of_product(dn_all, c_hat, from_dc_to_dzf),',
     '"state_norm_gamma": dn_all.sum(axis=(0, 2)),'),
    # ---- the scaffold: what every cell shares ------------------------------------------------------
    ("scaffold_initial_state_grads_zero", "scaffold (dL/ds_0)", SCAFFOLD,
     'return dx, [None if d is None else np.array(d.T, order="C") for d in d_states0], grads',
     'return dx, [None if d is None else np.array(0.0 * d.T, order="C") for d in d_states0], grads'),
    ("scaffold_last_state_gradient_ignored", "scaffold (dL/dh_T)", SEQ,
     "g_all[-1] += d_last.T", "g_all[-1] += 0.0 * d_last.T"),
    ("scaffold_dx_without_input_dropout", "scaffold (dx, m_x)", SEQ,
     "        dxs *= input_dropout_mask", "        pass"),
    ("scaffold_dU_operand_over_live_dz", "scaffold (dU, spent buffers)", SCAFFOLD,
     "run.spent_grads = None if np.may_share_memory(g_all, dz) else g_all",
     "run.spent_grads = None if np.may_share_memory(g_all, dz) else dz"),
    ("scaffold_dU_without_recurrent_dropout", "scaffold (dU, m_h)", SEQ,
     "        h_prev *= recurrent_dropout_mask.T[:, None, :]", "        pass"),
    ("step_scaffold_masked_step_drops_state_carry", "step scaffold (user cells) / mask", STEP,
     "carried = [np.where(k, 0.0, g) for g in g_new]", "carried = [0.0 * g for g in g_new]"),
    ("step_scaffold_masked_output_not_repeated", "step scaffold (user cells) / mask", STEP,
     "g_out = np.where(k, 0.0, go)", "g_out = 0.0 * go"),
    ("step_scaffold_recurrent_dropout_ignored", "step scaffold (user cells) / dropout", STEP,
     "d_in[0] = d_in[0] * cache.m_h", "d_in[0] = d_in[0]"),
    ("step_scaffold_input_dropout_ignored", "step scaffold (user cells) / dropout", STEP,
     "dxs[t] = dx_t if cache.m_x is None else dx_t * cache.m_x", "dxs[t] = dx_t"),
    ("step_scaffold_keeps_last_step_weight_grads", "step scaffold (user cells) / dW", STEP,
     "grads[name] = g if name not in grads else grads[name] + g", "grads[name] = g"),
    # ---- caches owned by the call ------------------------------------------------------------------
    ("two_calls_keep_only_the_last_gradients", "caches (a layer called twice)", CACHES,
     "self.grads = {key: self.grads[key] + grad for key, grad in grads.items()}", "self.grads = dict(grads)"),
    ("training_calls_share_one_workspace", "caches (workspaces per call)", CELLS_LAYER,
     "workspace, release = self.workspaces.lease()", "workspace, release = self.workspaces.for_inference(), None"),
    ("stacked_cells_mask_not_reversed", "stacked cells (go_backwards + mask)", RECURRENT_LAYER,
     "cell_mask = mask if k == 0 or mask is None or not self.go_backwards else mask[:, ::-1]", "cell_mask = mask"),
    ("gru_before_dh_misses_rh_path", "GRU reset_after=False (dh_{t-1})", GRU,
     "            dh_next += np.multiply(d_rh, r[t], out=scratch)   # d(rh) reaches h_{t-1} m_h through r",
     "            pass"),
    # ---- masks -------------------------------------------------------------------------------
    ("mask_not_reversed_for_go_backwards", "masks", SEQ,
     "np.asarray(mask, dtype=bool).T[_steps(go_backwards)])", "np.asarray(mask, dtype=bool).T)"),
    ("masked_step_changes_state", "masks", SEQ,
     "        np.copyto(h, h_prev, where=hold[t])", "        pass"),
    ("zero_output_steps_still_get_gradient", "masks (Bidirectional zeros)", SEQ,
     "        if zero_output_for_mask:\n            zero_held(g_all, hold)",
     "        if zero_output_for_mask:\n            pass"),
    ("masked_loss_averages_over_padding", "masks (loss)", ["src/rnnkit/models/training.py", [REPLAY, MASKS]],
     "* ((metric_mask.size / valid) if valid else 0.0)", "* 1.0"),
    # ---- sample / class weights, weighted metrics -----------------------------------------------
    ("weighted_loss_divides_by_weight_sum", "sample weights (reduction)", WEIGHTS,
     "loss = float(np.sum(per_sample * weights, dtype=np.float64)) / count",
     "loss = float(np.sum(per_sample * weights, dtype=np.float64)) / max(float(weights.sum()), 1e-12)"),
    ("sample_weights_not_in_gradient", "sample weights (gradient)", WEIGHTS,
     "d_output = d_output * weights.astype(output.dtype)[..., None]",
     "d_output = d_output * (weights > 0).astype(output.dtype)[..., None]"),
    ("weighted_metrics_unweighted", "weighted metrics", WEIGHTS,
     "m.update_state(y, output, metric_weights if metric_weights is not None else metric_mask)",
     "m.update_state(y, output, metric_mask)"),
    ("class_weight_ignores_labels", "class_weight", ADAPTER,
     'classes = y.reshape(-1).astype(np.int64)', 'classes = np.zeros(y.size, np.int64)'),
    # ---- metrics -----------------------------------------------------------------------------
    ("auc_roc_left_riemann", "AUC (ROC interpolation)", METRICS,
     "heights = (y[:-1] + y[1:]) / 2.0", "heights = y[1:]"),
    ("auc_pr_without_log_term", "AUC (PR interpolation)", METRICS,
     "slope * (dtp + intercept * np.log(ratio))", "slope * dtp"),
    ("dataset_restarted_each_epoch", "data (a cut-short dataset goes on)", ADAPTER,
     "self.fresh = not hasattr(data, \"__next__\") and", "self.fresh = True or"),
    ("sequence_order_never_shuffled", "data (Sequence batch order)", ADAPTER,
     "order = (self.rng or backend.rng()).permutation(count) if self.shuffle else range(count)",
     "order = range(count)"),
    ("confusion_counts_at_or_above_threshold", "Precision/Recall threshold", METRICS,
     "above = preds[None, :] > np.asarray(thresholds)[:, None]",
     "above = preds[None, :] >= np.asarray(thresholds)[:, None] - 0.01"),
    # ---- Bidirectional merges ----------------------------------------------------------------
    ("bidir_concat_halves_swapped", "Bidirectional concat", BIDIR,
     "return d_output[..., :units], d_output[..., units:]", "return d_output[..., units:], d_output[..., :units]"),
    ("bidir_sum_backward_gets_nothing", "Bidirectional sum", BIDIR,
     "            return d_output, d_output\n", "            return d_output, 0.0 * d_output\n"),
    ("bidir_ave_forgets_half", "Bidirectional ave", BIDIR,
     "return d_output * 0.5, d_output * 0.5", "return d_output, d_output"),
    ("bidir_mul_factors_swapped", "Bidirectional mul", BIDIR,
     "return d_output * y_backward, d_output * y_forward", "return d_output * y_forward, d_output * y_backward"),
    # ---- optimizers --------------------------------------------------------------------------
    ("sgd_momentum_dropped", "SGD momentum", OPT,
     "        m *= self.momentum\n        m -= lr * g", "        m *= 0.0\n        m -= lr * g"),
    ("sgd_nesterov_lookahead_dropped", "SGD nesterov", OPT,
     "w += self.momentum * m - lr * g", "w += m - lr * g"),
    ("adam_epsilon_inside_sqrt", "Adam", OPT,
     "/ (np.sqrt(v) + np.asarray(self.epsilon, w.dtype))", "/ np.sqrt(v + np.asarray(self.epsilon, w.dtype))"),
    ("adam_bias_correction_without_sqrt", "Adam", OPT,
     "math.sqrt(1 - self.beta_2 ** t)", "(1 - self.beta_2 ** t)"),
    ("amsgrad_ignored", "Adam amsgrad", OPT,
     '            v = slots["v_hat"]', "            pass"),
    ("rmsprop_centered_sign", "RMSprop centered", OPT,
     "denominator = v - a * a + self.epsilon", "denominator = v + a * a + self.epsilon"),
    ("rmsprop_momentum_ignored", "RMSprop momentum", OPT,
     "            m += increment\n            w -= m", "            m += increment\n            w -= increment"),
    ("rmsprop_epsilon_outside_sqrt", "RMSprop", OPT,
     "increment = np.asarray(self._step_lr, w.dtype) * g / np.sqrt(denominator)",
     "increment = np.asarray(self._step_lr, w.dtype) * g / (np.sqrt(denominator - self.epsilon) + self.epsilon)"),
    ("nadam_u_product_once_per_step", "Nadam (tf_keras schedule product)", OPT,
     '        if self.u_product == "per_variable":\n            self._u_product *= self._u_t',
     '        if False:\n            self._u_product *= self._u_t'),
    ("adamax_without_bias_correction", "Adamax", OPT,
     "scale = self._step_lr / (1 - self.beta_1 ** (self.iterations + 1))", "scale = self._step_lr"),
    ("weight_decay_after_the_update", "AdamW / weight_decay", OPT,
     "variable -= variable * np.asarray(self.weight_decay * lr, variable.dtype)",
     "variable -= variable * np.asarray(self.weight_decay * lr * 0.5, variable.dtype)"),
    ("schedule_uses_next_step", "schedules (step)", OPT,
     "lr = self._lr_at(self.iterations)\n        self._step_lr = lr",
     "lr = self._lr_at(self.iterations + 1)\n        self._step_lr = lr"),
    ("exponential_decay_staircase_always", "ExponentialDecay", SCHED,
     "        if self.staircase:\n            p = math.floor(p)\n        return self.initial_learning_rate * self.decay_rate ** p",
     "        p = math.floor(p)\n        return self.initial_learning_rate * self.decay_rate ** p"),
    ("adagrad_starts_from_zero", "Adagrad", OPT,
     '{"acc": np.full_like(variable, self.initial_accumulator_value)}', '{"acc": np.zeros_like(variable)}'),
    ("clipnorm_uses_squared_norm", "clipnorm", OPT,
     "max(float(np.sqrt(np.sum(g * g))), self.clipnorm)", "max(float(np.sum(g * g)), self.clipnorm)"),
    ("global_clipnorm_per_weight", "global_clipnorm", OPT,
     "norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))",
     "norm = max(math.sqrt(float(np.sum(g * g))) for g in grads)"),
    ("clipvalue_twice_the_limit", "clipvalue", OPT,
     "np.clip(g, -self.clipvalue, self.clipvalue)", "np.clip(g, -2 * self.clipvalue, 2 * self.clipvalue)"),
    # ---- losses ------------------------------------------------------------------------------
    ("mse_gradient_missing_2", "losses (mse)", LOSS,
     "diff *= 2.0 / y_pred.size", "diff *= 1.0 / y_pred.size"),
    ("bce_gradient_sign", "losses (binary crossentropy)", LOSS,
     "grad = -(y_true / (p + EPSILON) - (1.0 - y_true) / (1.0 - p + EPSILON))",
     "grad = -(y_true / (p + EPSILON) + (1.0 - y_true) / (1.0 - p + EPSILON))"),
    ("cce_value_averaged_over_classes", "losses (categorical crossentropy)", LOSS,
     "return -np.sum(y_true * np.log(q), axis=-1)", "return -np.mean(y_true * np.log(q), axis=-1)"),
    ("sparse_cce_gradient_half", "losses (sparse categorical crossentropy)", LOSS,
     "np.take_along_axis(grad, y_true[..., None], axis=-1) - 1.0",
     "np.take_along_axis(grad, y_true[..., None], axis=-1) - 0.5"),
    # ---- loaders -----------------------------------------------------------------------------
    ("keras3_loader_transposes_square_kernels", "loaders (Keras 3 layout)", LOAD,
     'per_layer.append(_read_all(datasets, wanted, filename, spec, prefix + f"layers/{key}"))',
     f'per_layer.append([{_SQUARE_T}(a) for a in _read_all(datasets, wanted, filename, spec, '
     'prefix + f"layers/{key}")])'),
    ("keras2_loader_transposes_square_kernels", "loaders (Keras 2 layout)", LOAD,
     "    return _read_all(datasets, wanted, filename, spec, where)",
     f"    return [{_SQUARE_T}(a) for a in _read_all(datasets, wanted, filename, spec, where)]"),
    # ---- regularizers and constraints in the training loop --------------------------------------
    ("penalty_gradients_dropped", "weight regularizers (gradient)",
     ["src/rnnkit/models/training.py", ["tests/layers/test_regularization.py"]],
     "                    layer.grads[name] = layer.grads[name] + grad", "                    pass"),
    ("activity_gradient_dropped", "activity regularizers (gradient at the layer output)",
     ["src/rnnkit/models/sequential.py", ["tests/layers/test_regularization.py"]],
     "                d_out = d_out + self._layers[index].activity_gradient(regularized[index])",
     "                pass"),
    ("activity_penalty_not_reported", "activity regularizers (loss)",
     ["src/rnnkit/models/training.py", ["tests/layers/test_regularization.py",
                                        "tests/training/test_functional_training_replay.py"]],
     "        return self._weight_penalty(penalized) + float(sum(activity))", "        return self._weight_penalty(penalized)"),
    ("wrapped_activity_penalty_not_reported", "activity regularizers inside wrappers (loss)", PENALTIES,
     "            activity.extend(layer.activity_penalty(y) for y in _outputs_list(outputs))",
     "            pass"),
    ("wrapped_activity_state_gradient_dropped", "activity regularizers inside wrappers (states' gradient)",
     PENALTIES,
     "        return [layer.activity_gradient(y) + (0 if d is None else d) for d, y in zip(d_out, regularized)]",
     "        return [layer.activity_gradient(regularized[0]) + d_out[0]] + list(d_out[1:])"),
    ("constraints_not_applied", "constraints (after the update)",
     ["src/rnnkit/models/training.py", ["tests/layers/test_regularization.py",
                                        "tests/training/test_functional_training_replay.py"]],
     "            layer.apply_constraints()", "            pass"),
    # ---- the functional graph's backward -------------------------------------------------------
    ("loss_weight_not_in_gradient", "several outputs (loss_weights)", GRAPH,
     '            d_outputs.append(d_out * np.asarray(head["weight"], out.dtype))', "            d_outputs.append(d_out)"),
    ("fan_out_gradients_overwrite", "functional graph (fan-out sums)", GRAPH,
     "grads[id(tensor)] = grad if id(tensor) not in grads else grads[id(tensor)] + grad",
     "grads[id(tensor)] = grad"),
    ("decoder_states_get_no_gradient", "functional graph (initial-state gradients)", GRAPH,
     "                pairs += list(zip(node.state_inputs, _state_gradients(node.layer)))", "                pass"),
    ("multiply_gradient_misses_a_factor", "merge backward (multiply)", MERGE,
     "            if j != k:\n                grad *= x", "            if j != k and j > 0:\n                grad *= x"),
    ("dot_normalize_backward_skips_projection", "merge backward (cosine Dot)", MERGE,
     "    return np.where(inside, projected, d_normalized) / scale", "    return d_normalized / scale"),
    ("maximum_gradient_to_the_last", "merge backward (maximum ties and selection)", MERGE,
     "    return [np.where(chosen == k, d_out, 0).astype(d_out.dtype) for k in range(len(xs))]",
     "    return [np.where(chosen != k, d_out, 0).astype(d_out.dtype) for k in range(len(xs))]"),
    ("keras3_maximum_ignores_masks", "Keras 3 merge under masks (maximum/minimum)", MERGE_KERAS3,
     "x, x_source = np.where(mask, x, output), np.where(mask, x_source, source)", "x, x_source = x, x_source"),
    ("keras3_multiply_multiplies_masked_steps", "Keras 3 merge under masks (multiply)", MERGE_KERAS3,
     "x if mask is None else np.where(mask, x, 1).astype(x.dtype)", "x"),
    ("keras3_maximum_gradient_ignores_masks", "Keras 3 merge under masks backward (maximum/minimum)", MERGE_KERAS3,
     "x, x_source = np.where(mask, x, output), np.where(mask, x_source, source)",
     "x, x_source = np.where(mask, x, output), x_source"),
    ("keras3_multiply_gradient_reaches_masked_steps", "Keras 3 merge under masks backward (multiply)", MERGE_KERAS3,
     "            grad = np.where(mask, grad, 0)\n", "            pass\n"),
    ("keras3_logical_or_written_as_a_list", "Keras 3 operation nodes written back", GRAPH_WRITE,
     '_SPREAD_OPERATIONS = {"LogicalOr"}', "_SPREAD_OPERATIONS = set()"),
    # ---- file-loading safety ------------------------------------------------------------------
    ("external_storage_followed", "loading safety (external storage)", GUARD,
     "    if external:\n", "    if False:\n"),
    ("virtual_dataset_followed", "loading safety (virtual datasets)", GUARD,
     "    if layout == h5py.h5d.VIRTUAL:", "    if False:"),
    ("external_link_followed", "loading safety (external links)", GUARD,
     "    if isinstance(link, h5py.ExternalLink):", "    if False:"),
    ("fill_value_dataset_read", "loading safety (declared vs stored bytes)", GUARD,
     "    if declared and stored < declared", "    if False and stored < declared"),
    ("fifo_opened", "loading safety (regular files only)", GUARD,
     "    if not stat.S_ISREG(info.st_mode):", "    if False:"),
    ("zip_ratio_unchecked", "loading safety (zip bombs)", GUARD,
     "        if ratio > MAX_INFLATION:", "        if False:"),
    ("overflow_after_cast_accepted", "loading safety (finite after cast)", GUARD,
     "    if not np.all(np.isfinite(cast)):", "    if False:"),
    # ---- summary -----------------------------------------------------------------------------
    ("summary_no_thousands_separator", "summary", SUMMARY,
     'f"Total params: {trainable_count + non_trainable_count:,}"',
     'f"Total params: {trainable_count + non_trainable_count}"'),
    ("summary_no_break_after_tuple", "summary", SUMMARY,
     '_LINE_BREAKS = ("),", "},", "],", "\',")', '_LINE_BREAKS = ("},", "],", "\',")'),
    ("summary_trainable_always_Y", "summary (show_trainable)", SUMMARY,
     'return "Y" if trainable else "N"', 'return "Y"'),
    ("summary_nested_columns_not_shifted", "summary (expand_nested)", SUMMARY,
     "border = nested_level if not first_column_margin or col == len(positions) - 1 else 0", "border = 0"),
    # ---- tokenizer ---------------------------------------------------------------------------
    ("tokenizer_ranks_alphabetically", "tokenizer", TEXT,
     "key=lambda item: item[1], reverse=True", "key=lambda item: item[0]"),
    ("tokenizer_num_words_off_by_one", "tokenizer", TEXT,
     "if index is not None:\n                    if self.num_words and index >= self.num_words:",
     "if index is not None:\n                    if self.num_words and index > self.num_words:"),
    ("mape_gradient_without_the_100", "losses (MAPE)", REGRESSION_LOSSES,
     "grad = 100.0 * np.sign(y_pred - y_true)", "grad = np.sign(y_pred - y_true)"),
    ("msle_gradient_forgets_the_log_derivative", "losses (MSLE)", REGRESSION_LOSSES,
     "2.0 * self._log_gap(y_true, y_pred) / (np.maximum(y_pred, EPSILON) + 1.0)",
     "2.0 * self._log_gap(y_true, y_pred)"),
    ("logcosh_gradient_is_the_error_itself", "losses (log-cosh)", REGRESSION_LOSSES,
     "return (np.tanh(y_pred - y_true) / y_pred.size)", "return ((y_pred - y_true) / y_pred.size)"),
    ("predict_classes_argmax_of_one_unit", "Keras 2 predict_classes", KERAS2_METHODS,
     "if probabilities.shape[-1] > 1:", "if probabilities.shape[-1] >= 1:"),
    # ---- initializers ------------------------------------------------------------------------
    ("glorot_uniform_limit_sqrt6_over_fan_avg", "initializers (Glorot limit)", INIT,
     '"""U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""\n    fixed = (1.0, "fan_avg", "uniform")',
     '"""U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""\n    fixed = (2.0, "fan_avg", "uniform")'),
    ("orthogonal_not_orthogonal", "initializers (Orthogonal)", INIT,
     "q, r = np.linalg.qr(a)", "q, r = a / np.sqrt(a.shape[0]), np.linalg.qr(a)[1]"),
    ("orthogonal_without_sign_correction", "initializers (Orthogonal)", INIT,
     "q *= np.sign(np.diag(r))", "q *= 1.0"),
    ("identity_ignores_gain", "initializers (Identity)", INIT,
     "return (self.gain * np.eye(*shape))", "return (np.eye(*shape))"),
    ("truncated_normal_clips_instead_of_redrawing", "initializers (truncated normal)", INIT,
     "    while outside.any():",
     "    values = np.clip(values, mean - 2 * stddev, mean + 2 * stddev)\n    while False:"),
    # ---- issue 13: the layers around the RNN ----------------------------------------------------
    ("conv1d_bias_grad_mean_not_sum", "Conv1D backward (db)", CONV,
     'grads["bias"] = dz.sum(axis=0)\n    if not need_dx:', 'grads["bias"] = dz.mean(axis=0)\n    if not need_dx:'),
    ("separable_depthwise_channel_order", "SeparableConv1D forward (c dm + m)", CONV_VARIANTS,
     "depthwise = depthwise_kernel.reshape(k, 1, channels * multiplier)",
     "depthwise = depthwise_kernel.transpose(0, 2, 1).reshape(k, 1, channels * multiplier)"),
    ("transpose_dx_flipped_kernel", "Conv1DTranspose backward (dx)", CONV_VARIANTS,
     "dx = np.dot(rows, kernel.reshape(k * filters, channels))", "dx = np.dot(rows, kernel[::-1].reshape(k * filters, channels))"),
    ("conv1d_dx_ignores_dilation", "convolution col2im (dx scatter)", CONV_ND,
     "slice(j * d, j * d + (length - 1) * s + 1, s)", "slice(j, j + (length - 1) * s + 1, s)"),
    ("orthogonal_regularizer_gram_grad_once", "OrthogonalRegularizer gradient (dU)", REGS,
     "d_unit = 2.0 * d_gram @ unit", "d_unit = d_gram @ unit"),
    ("orthogonal_regularizer_counts_diagonal", "OrthogonalRegularizer penalty", REGS,
     "off_diagonal = np.abs(gram).sum() - np.abs(np.diag(gram)).sum()", "off_diagonal = np.abs(gram).sum()"),
    ("bidirectional_penalizes_forward_copy_only", "wrapped penalties (Bidirectional)",
     ["src/rnnkit/layers/bidirectional.py", ["tests/layers/test_regularization.py"]],
     'return [("forward/", self.forward_layer), ("backward/", self.backward_layer)]',
     'return [("forward/", self.forward_layer)]'),
    ("conv_lstm_forget_grad_uses_new_cell", "ConvLSTM backward (dz_f)", CONV_LSTM,
     "dz[:, F:2 * F] = dc * c_prev * ra_prime(f)", "dz[:, F:2 * F] = dc * cache.cells[t] * ra_prime(f)"),
    ("conv_lstm_recurrent_dropout_not_in_backward", "ConvLSTM backward (m_h)", CONV_LSTM,
     "dh_prev *= cache.recurrent_dropout_mask", "dh_prev *= 1.0"),
    ("conv_lstm_masked_step_drops_cell_gradient", "ConvLSTM backward (mask hold)", CONV_LSTM,
     "dc_prev = np.where(cache.hold[t], gc, dc_prev)", "dc_prev = np.where(cache.hold[t], 0.0, dc_prev)"),
    ("conv1d_no_activation_derivative", "Conv1D backward (act')", CONV,
     "dz = activations.backward(activation, y.reshape(-1, filters), dy.reshape(-1, filters), kept)\n    if rows is None",
     "dz = dy.reshape(-1, filters)\n    if rows is None"),
    ("conv1d_causal_pads_right", "Conv1D forward (causal)", CONV_ND,
     "left, right = (kernel_size - 1) * dilation_rate, 0", "left, right = 0, (kernel_size - 1) * dilation_rate"),
    ("conv1d_taps_ignore_dilation", "Conv1D forward (stride 1, by taps)", CONV,
     "        z += taps[:, j * dilation:j * dilation + length, j]", "        z += taps[:, j:j + length, j]"),
    ("max_pool_forward_keeps_first_cell", "MaxPooling1D forward", POOL,
     "        np.maximum(y, cell, out=y)", "        np.minimum(y, y, out=y)"),
    ("max_pool_where_not_recorded", "MaxPooling1D forward (which cell)", POOL,
     "                np.copyto(where, j, where=cell > y)", "                pass"),
    ("conv1d_tap_gradient_ignores_dilation", "Conv1D backward (stride 1, by taps)", CONV,
     "        window = slice(j * dilation, j * dilation + length)", "        window = slice(j, j + length)"),
    ("max_pool_grad_to_first_cell", "MaxPooling1D backward", POOL,
     "dxp[:, j:j + end:strides] += np.where(info == j, dy, 0.0)",
     "dxp[:, j:j + end:strides] += np.where(info == 0, dy, 0.0)"),
    ("avg_pool_same_counts_padding", "AveragePooling1D 'same' count", POOL,
     "real[left:left + n] = 1.0", "real[:] = 1.0"),
    ("global_avg_backward_ignores_mask", "GlobalAveragePooling1D backward", POOL,
     "return weights[:, :, None] * dy[:, None, :]",
     "return np.repeat(dy[:, None, :], weights.shape[1], axis=1) / weights.shape[1]"),
    ("norm_dx_without_xhat_term", "Batch/LayerNorm backward (dx)", NORM,
     "dx = r * (dxh - dxh.mean(axis=axes, keepdims=True) - xh * np.mean(dxh * xh, axis=axes, keepdims=True))",
     "dx = r * (dxh - dxh.mean(axis=axes, keepdims=True))"),
    ("norm_dgamma_without_xhat", "Batch/LayerNorm backward (dgamma)", NORM,
     "dgamma = None if gamma is None else np.sum(dy * xh, axis=param_axes)",
     "dgamma = None if gamma is None else np.sum(dy, axis=param_axes)"),
    ("batchnorm_momentum_swapped", "BatchNormalization moving statistics", BN_LAYER,
     "moving *= m\n                moving += (1.0 - m) *", "moving *= 1.0 - m\n                moving += m *"),
    ("swish_derivative_sign", "swish derivative", ACTS,
     "return s + z * s * (1.0 - s)", "return s + z * s * (1.0 + s)"),
    ("gelu_derivative_density", "gelu derivative", ACTS,
     "z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)", "z * np.exp(-0.5 * z * z) / math.sqrt(math.pi)"),
    ("selu_derivative_without_scale", "selu derivative", ACTS,
     "y + SELU_SCALE * SELU_ALPHA", "y + SELU_ALPHA"),
    ("dense_z_overwritten_by_y", "Dense keeps z for swish/gelu", DENSE_OPS,
     "return activations.apply(activation, z.copy()), z", "return activations.apply(activation, z), z"),
    ("permute_backward_not_inverse", "Permute backward", RESHAPE,
     "return d_out.transpose(np.argsort((0,) + self.dims)), {}", "return d_out.transpose((0,) + self.dims), {}"),
    ("prelu_alpha_grad_from_positive_part", "PReLU backward (dalpha)", ACT_LAYERS,
     "d_alpha = (d_out * negative).sum(axis=0)", "d_alpha = (d_out * np.maximum(negative, 0.0)).sum(axis=0)"),
    ("l2_gradient_without_factor_2", "L2 regularizer gradient", REGS,
     "grad += (2.0 * self.l2) * w", "grad += self.l2 * w"),
    ("maxnorm_clips_at_min_not_max", "MaxNorm constraint", CONSTR,
     "return (w * (np.clip(n, 0, self.max_value) / (EPSILON + n))).astype(w.dtype)",
     "return (w * (np.clip(n, self.max_value, None) / (EPSILON + n))).astype(w.dtype)"),
    ("activity_penalty_not_per_batch", "activity regularizer / batch", PENALTIES,
     "return self.activity_regularizer(outputs) / max(len(outputs), 1)", "return self.activity_regularizer(outputs)"),
    ("activity_penalty_on_first_output_only", "activity regularizer (every output)", NESTED_GRAPH_REG,
     "activity.extend(node.layer.activity_penalty(value) for value in outs)",
     "activity.extend(node.layer.activity_penalty(value) for value in outs[:1])"),
    # ---- a model nested in another --------------------------------------------------------------
    ("nested_model_drops_input_gradient", "nested model backward", NESTED_GRAPH,
     "        return [grads[id(t)] if id(t) in grads else np.zeros_like(values[id(t)]) for t in self.inputs]",
     "        return [np.zeros_like(values[id(t)]) for t in self.inputs]"),
    ("nested_model_loses_outer_mask", "nested model masks", NESTING,
     "        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * len(arrays)",
     "        masks = [None] * len(arrays)"),
    ("nested_sequential_skips_first_input_gradient", "nested Sequential backward", NESTED_STACK,
     "need_input_grad=index > 0 or need_input_grad)", "need_input_grad=index > 0)"),
    ("guard_allows_scaleoffset_filter", "HDF5 filter allow-list", GUARD,
     'ALLOWED_FILTERS = {1: "gzip",', 'ALLOWED_FILTERS = {6: "scaleoffset", 1: "gzip",'),
    # ---- ONNX export of graphs ------------------------------------------------------------------
    ("onnx_bidirectional_initial_states_swapped", "ONNX initial_h by direction", ONNX_GRAPH,
     'graph.op("Concat", per_direction, axis=0)', 'graph.op("Concat", per_direction[::-1], axis=0)'),
    ("onnx_merged_mask_is_or", "ONNX merge mask (AND = least length)", ONNX_GRAPH,
     'graph.op("Min", present)', 'graph.op("Max", present)'),
    ("onnx_dot_x_axis_not_moved", "ONNX Dot contraction", ONNX_GRAPH,
     "    elif ax != 2:\n", "    elif ax == 2:\n"),
    ("onnx_nested_model_drops_the_outer_mask", "ONNX nested model inlining", ONNX_NESTED,
     "input_lengths = [lengths] * len(xs) if call.mask is not None else [x.lengths for x in xs]",
     "input_lengths = [lengths] * len(xs) if call.mask is not None else [None for x in xs]"),
    ("onnx_nested_model_drops_its_output_masks", "ONNX nested model inlining", ONNX_NESTED,
     "return [values[key] for key in output_keys], masked",
     "return [_Value(values[key].name, values[key].kind) for key in output_keys], masked"),
    ("onnx_nested_weights_duplicated_per_call", "ONNX nested model inlining", ONNX_NESTED,
     "        cache_key = (id(layer), key)\n", "        cache_key = (id(layer), key, len(self.nodes))\n"),
    # ---- data-parallel training (rnnkit.distribute): the tests start mpiexec themselves --------
    ("data_parallel_mean_of_means", "MPI gradient reduction", DISTRIBUTE,
     "np.multiply(np.reshape(grad, -1), count, out=buffer[start:stop], casting=\"unsafe\")",
     "np.multiply(np.reshape(grad, -1), 1, out=buffer[start:stop], casting=\"unsafe\")"),
    ("data_parallel_loss_mean_of_means", "MPI gradient reduction", DISTRIBUTE,
     "buffer[-2], buffer[-1] = loss * count, count", "buffer[-2], buffer[-1] = loss, 1"),
    ("data_parallel_shards_overlap", "MPI sharding", DISTRIBUTE,
     "part = slice(self.rank * rows // self.size, (self.rank + 1) * rows // self.size)",
     "part = slice(self.rank * rows // (self.size + 1), (self.rank + 1) * rows // self.size)"),
    ("data_parallel_moving_statistics_summed", "MPI BatchNormalization", DISTRIBUTE,
     "        buffer /= self.size\n", "        buffer /= 1\n"),
    # ---- the compiled whole-sequence loops' wiring (ops/kernels.py; the C itself is not mutated:
    # the copy's extension is not rebuilt) ----------------------------------------------------
    ("lstm_sequence_ignores_initial_state", "compiled sequence loop (LSTM)", [f"{OPS}lstm.py", [KERNEL_TESTS]],
     "compiled.lstm_forward_sequence(threads, T, B, H, len(hs), run.zero_start, all_gates,",
     "compiled.lstm_forward_sequence(threads, T, B, H, len(hs), True, all_gates,"),
    ("simple_sequence_last_state_off_by_one", "compiled sequence loop (SimpleRNN)",
     [f"{OPS}simple_rnn.py", [KERNEL_TESTS]],
     "return [hs[(run.T - 1) % slots] if run.T else h_prev], {\"hs\": hs}",
     "return [hs[run.T % slots] if run.T else h_prev], {\"hs\": hs}"),
    ("gru_sequence_backward_transposed_weight", "compiled sequence loop (GRU)", [f"{OPS}gru.py", [KERNEL_TESTS]],
     "kernels.operand(p.recurrent_kernel, run.dtype), z_all, kept[\"kept\"],",
     "kernels.operand(p.recurrent_t, run.dtype), z_all, kept[\"kept\"],"),
]


def copy_repo(destination):
    """The repository without environments, git data and caches; the shared fixtures linked
    beside it where the tests look for them (`<repo>/../shared`)."""
    ignore = shutil.ignore_patterns(".venv", ".venv-*", ".git", "__pycache__", "*.egg-info", "build",
                                    ".pytest_cache", "*.pyc")
    repo = destination / ROOT.name
    shutil.copytree(ROOT, repo, ignore=ignore, symlinks=True)
    shared = ROOT.parent / "shared"
    if shared.exists():
        (destination / "shared").symlink_to(shared, target_is_directory=True)
    return repo


def environment(repo):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_import(python, repo):
    out = subprocess.run([python, "-c", "import rnnkit; print(rnnkit.__file__)"], cwd=repo,
                         env=environment(repo), capture_output=True, text=True, check=True).stdout.strip()
    if not pathlib.Path(out).resolve().is_relative_to((repo / "src").resolve()):
        raise SystemExit(f"The copy's src is not what gets imported: rnnkit comes from {out}")
    return out


def _called_names(node):
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", None))
    return names


def gradcheck_tests(repo, selection):
    """Node ids (file::function) of the selected tests that call a gradient check, directly or
    through helpers of their own module."""
    files = []
    for item in selection:
        path = repo / item
        files += sorted(path.rglob("test_*.py")) if path.is_dir() else [path]
    found = []
    for path in files:
        tree = ast.parse(path.read_text())
        functions = {f.name: _called_names(f) for f in tree.body if isinstance(f, ast.FunctionDef)}
        checking = set(GRADCHECK_CALLS)
        while True:
            more = {name for name, called in functions.items() if called & checking} - checking
            if not more:
                break
            checking |= more
        relative = path.relative_to(repo).as_posix()
        found += [f"{relative}::{name}" for name in functions if name.startswith("test") and name in checking]
    return found


def run_pytest(python, repo, args, timeout):
    command = [python, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", *args]
    try:
        done = subprocess.run(command, cwd=repo, env=environment(repo), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    first = next((line for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))), "")
    first = re.sub(r"^(FAILED|ERROR) ", "", first).split(" - ")[0]
    if done.returncode == 0:
        return "passed", ""
    if done.returncode == 5:
        return "no tests", ""
    last = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or [""])[-1]
    return "failed", first or last[:80]


def check(python, repo, mutation, timeout):
    name, area, (path, tests), old, new = mutation
    target = repo / path
    original = target.read_text()
    count = original.count(old)
    if count != 1:
        return "ERROR", f"anchor found {count} times in {path}"
    target.write_text(original.replace(old, new))
    try:
        gradchecks = gradcheck_tests(repo, tests)
        deselect = [arg for node in gradchecks for arg in ("--deselect", node)]
        status, where = run_pytest(python, repo, tests + deselect, timeout)
        if status == "failed":
            return "caught", where
        if status == "timeout":
            return "caught (timeout)", ""
        if gradchecks:
            status, where = run_pytest(python, repo, gradchecks, timeout)
            if status == "failed":
                return "caught (gradcheck)", where
            if status == "timeout":
                return "caught (timeout)", ""
        if status == "no tests":
            return "ERROR", "the selection collected no tests"
        return "SURVIVED", ""
    finally:
        target.write_text(original)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", help="names of the mutations to run")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per pytest run")
    parser.add_argument("--python", default=sys.executable, help="the python that runs pytest")
    args = parser.parse_args(argv)
    mutations = MUTATIONS
    if args.only:
        unknown = set(args.only) - {m[0] for m in MUTATIONS}
        if unknown:
            parser.error(f"unknown mutations: {sorted(unknown)}")
        mutations = [m for m in MUTATIONS if m[0] in args.only]
    if args.list:
        for name, area, (path, tests), _, _ in mutations:
            print(f"{name:45s} {area:35s} {path}")
        return 0
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="rnnkit-mutation-") as folder:
        repo = copy_repo(pathlib.Path(folder))
        print(f"rnnkit imported from {check_import(args.python, repo)}")
        baseline = sorted({t for m in mutations for t in m[2][1]})
        status, where = run_pytest(args.python, repo, baseline, args.timeout)
        if status != "passed":
            raise SystemExit(f"The unmutated copy does not pass its tests ({status}: {where}); fix that first.")
        rows = []
        for mutation in mutations:
            t0 = time.time()
            result, where = check(args.python, repo, mutation, args.timeout)
            rows.append((mutation[0], mutation[1], result, where, time.time() - t0))
            print(f"  {mutation[0]:45s} {result:19s} {time.time() - t0:5.1f}s", file=sys.stderr, flush=True)
    print()
    print(f"| {'mutation':45s} | {'area':35s} | {'result':19s} | first failing test")
    print(f"|{'-' * 47}|{'-' * 37}|{'-' * 21}|{'-' * 30}")
    for name, area, result, where, _ in rows:
        print(f"| {name:45s} | {area:35s} | {result:19s} | {where}")
    counts = {}
    for row in rows:
        key = row[2].split(" ")[0]
        counts[key] = counts.get(key, 0) + 1
    print()
    print(f"{len(rows)} mutations: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
          + f"; {time.time() - started:.0f} s")
    return 0 if all(r[2].startswith("caught") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
