"""Keras's optimizers (the Keras 2.11+ / Keras 3 formulas), updating weights in place.

Per weight w with gradient g, after clipping (only one of these, checked in this order):
    clipnorm:        g <- g * clipnorm / max(||g||, clipnorm)             (each weight alone)
    global_clipnorm: g <- g * c / max(||all g||, c)
    clipvalue:       g <- clip(g, -clipvalue, clipvalue)
then, with `weight_decay` (every optimizer, Keras 3; AdamW's default 0.004), before the update:
    w <- w - lr * weight_decay * w        (not for variables excluded by exclude_from_weight_decay)
lr is the learning rate, or a schedule's value at `iterations` (the steps done before this one).

    SGD:      momentum 0:  w -= lr g
              else:        m = momentum m - lr g;  w += m               (nesterov: w += momentum m - lr g)
    Adam:     t = iterations + 1;  a = lr sqrt(1 - b2^t) / (1 - b1^t)
              m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2)            (amsgrad: v_hat = max(v_hat, v))
              w -= a m / (sqrt(v) + epsilon)
    RMSprop:  v = rho v + (1 - rho) g^2;  centered: a = rho a + (1 - rho) g, d = v - a^2 + epsilon
              else d = v + epsilon;  inc = lr g / sqrt(d)
              momentum 0: w -= inc;  else m = momentum m + inc; w -= m
    Adagrad:  acc += g^2 (acc starts at initial_accumulator_value);  w -= lr g / sqrt(acc + epsilon)
    Nadam:    t = iterations + 1;  u_t = b1 (1 - 0.5 * 0.96^t);  u_{t+1} likewise;  P_t = u_1 ... u_t
              m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2)
              m_hat = u_{t+1} m / (1 - P_t u_{t+1}) + (1 - u_t) g / (1 - P_t);  v_hat = v / (1 - b2^t)
              w -= lr m_hat / (sqrt(v_hat) + epsilon)
    Adamax:   m += (g - m)(1 - b1);  u = max(b2 u, |g|);  w -= lr m / ((1 - b1^t)(u + epsilon))
    Adadelta: a = rho a + (1 - rho) g^2;  d = -sqrt(s + eps) g / sqrt(a + eps)
              s = rho s + (1 - rho) d^2;  w += lr d
    Ftrl:     l2 = l2_regularization_strength + beta / (2 lr);  p = -learning_rate_power
              n' = n + g^2;  z += g + 2 l2_shrinkage w - (n'^p - n^p) / lr * w;  n = n'
              w = (clip(z, -l1, l1) - z) / (n'^p / lr + 2 l2)
    Lion:     w -= lr sign(b1 m + (1 - b1) g);  m = b2 m + (1 - b2) g
"""

import inspect
import math
import re
import warnings

import numpy as np

from rnnkit.optimizers import schedules
from rnnkit.optimizers.schedules import LearningRateSchedule


def _check_number(value, argument, low=0.0, high=None, low_open=False, high_open=False):
    """A hyper-parameter as a float, checked against its interval at construction (a bad one
    would otherwise fail in fit, e.g. Adam's beta_1=1 divides by 1 - beta_1^t = 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"Argument `{argument}` must be a number. Received: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"Argument `{argument}` must be a finite number. Received: {value!r}")
    if value < low or (low_open and value == low) or (high is not None and (value > high or (high_open and value == high))):
        bounds = (f"{'(' if low_open else '['}{low}, " + (f"{high}{')' if high_open else ']'}" if high is not None else "inf)"))
        raise ValueError(f"Argument `{argument}` must be in {bounds}. Received: {value!r}")
    return float(value)


def _check_epsilon(epsilon):
    """Adam's and RMSprop's epsilon: positive, since a zero gradient on a zero second moment
    would otherwise update a weight by 0 / 0 = NaN."""
    return _check_number(epsilon, "epsilon", low_open=True)


class _VariableList(list):
    """A list that can also be called, so that `optimizer.variables` (Keras 3, a property) and
    `optimizer.variables()` (tf_keras 2 style) both give it."""

    def __call__(self):
        return self


def _check_learning_rate(value, argument="learning_rate"):
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, dict) and "class_name" in value:
        return schedules.deserialize(value)
    if callable(value) and not isinstance(value, (int, float, np.number)):
        return value
    return _check_number(value, argument)


class LearningRate(float):
    """What `optimizer.learning_rate` (and Keras 2's `optimizer.lr`) gives: the number, which also
    writes back as Keras's learning-rate variable does: `optimizer.learning_rate.assign(v)` and
    `keras.backend.set_value(optimizer.lr, v)` set the optimizer's rate (through the same checks
    as `optimizer.learning_rate = v`). Copies and pickles are plain floats."""

    def __new__(cls, value, optimizer):
        number = super().__new__(cls, value)
        number._optimizer = optimizer
        return number

    def check_assign(self, value):
        """Raises, without writing, what `assign(value)` would raise."""
        self._optimizer._checked_learning_rate(value)

    def assign(self, value):
        self._optimizer.learning_rate = value
        return self._optimizer.learning_rate

    def numpy(self):
        return float(self)

    def __reduce__(self):
        return float, (float(self),)

    def __copy__(self):
        return float(self)

    def __deepcopy__(self, memo):
        return float(self)


class Optimizer:
    """Base class: clipping, weight decay, the learning rate (or schedule), the step counter and
    per-weight slots.

    Args:
        learning_rate: a finite float >= 0, a `schedules.LearningRateSchedule`, or a callable
            of the step (`iterations`) or of nothing.
        clipnorm, clipvalue, global_clipnorm: optional gradient clipping, positive; at most one.
        weight_decay: decoupled weight decay (Keras 3), a float >= 0 or None.
        lr: Keras 2's name of learning_rate (deprecated, warns).

    Raises:
        TypeError: for a hyper-parameter that is not a number.
        ValueError: for one outside its range (each optimizer's docstring gives them), checked
            at construction so that fit never fails half-way; for use_ema=True,
            loss_scale_factor or gradient_accumulation_steps, which rnnkit does not do.
    """

    # Slot groups in Keras's creation order: the slots of one group are made per weight in turn
    # (m_0, v_0, m_1, v_1, ...), the groups one after the other. Keys of `_new_slots`.
    _slot_groups = ()
    # The names Keras gives each slot, tf_keras 2 then Keras 3.
    _slot_names = {}

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.", DeprecationWarning,
                          stacklevel=3)
            learning_rate = kwargs.pop("lr")
        kwargs.pop("jit_compile", None)
        kwargs.pop("is_legacy_optimizer", None)
        decay = kwargs.pop("decay", 0.0)      # Keras 2's legacy per-step decay: lr / (1 + decay * iterations)
        if kwargs:
            raise TypeError(f"Unexpected keyword arguments for {type(self).__name__}: {sorted(kwargs)}. "
                            f"Received: {kwargs!r}")
        if use_ema or loss_scale_factor is not None or gradient_accumulation_steps is not None:
            raise ValueError("Arguments `use_ema`, `loss_scale_factor` and `gradient_accumulation_steps` are not "
                             f"supported by rnnkit. Received: use_ema={use_ema!r}, loss_scale_factor="
                             f"{loss_scale_factor!r}, gradient_accumulation_steps={gradient_accumulation_steps!r}")
        self._learning_rate = _check_learning_rate(learning_rate)
        if _check_number(decay, "decay"):
            if callable(self._learning_rate):
                raise ValueError("Argument `decay` (Keras 2's legacy decay) cannot be combined with a schedule. "
                                 f"Received: decay={decay!r}, learning_rate={learning_rate!r}")
            warnings.warn("The `decay` argument is Keras 2's legacy learning-rate decay; rnnkit applies it as "
                          "InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=decay).", DeprecationWarning,
                          stacklevel=3)
            self._learning_rate = schedules.InverseTimeDecay(self._learning_rate, 1, decay)
        self.weight_decay = None if weight_decay is None else _check_number(weight_decay, "weight_decay")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = {name: value for name, value in clips.items() if value is not None}
        if len(given) > 1:   # Keras 3's rule
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: {', '.join(f'{k}={v!r}' for k, v in given.items())}")
        checked = {name: _check_number(value, name, low_open=True) for name, value in given.items()}
        self.clipnorm = checked.get("clipnorm")
        self.clipvalue = checked.get("clipvalue")
        self.global_clipnorm = checked.get("global_clipnorm")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Argument `name` must be a string. Received: {name!r}")
        self.name = name or type(self).__name__
        self.iterations = 0
        self._slots = None
        self._shapes = None
        self._exclude_ids = set()
        self._exclude_names = []

    # ---- the learning rate ------------------------------------------------------------------------
    def _lr_at(self, step):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(step))
        if callable(lr):
            try:
                takes_step = bool(inspect.signature(lr).parameters)
            except (TypeError, ValueError):
                takes_step = True
            return float(lr(step) if takes_step else lr())
        return lr

    @property
    def learning_rate(self):
        """The learning rate of the next step (a schedule's value at `iterations`). Settable to
        a number between epochs, or to a new schedule. The number also has `assign` (see
        `LearningRate`), as Keras's variable does."""
        return LearningRate(self._lr_at(self.iterations), self)

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = self._checked_learning_rate(value)

    def _checked_learning_rate(self, value):
        if isinstance(self._learning_rate, LearningRateSchedule) and not isinstance(value, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable. "
                            f"Received: learning_rate={value!r}")
        return _check_learning_rate(value)

    @property
    def lr(self):
        """Keras 2's name of `learning_rate`."""
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    # ---- weight decay ----------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts variables from weight decay: the arrays in `var_list`, and every variable whose
        name (`layer_name/weight_name`, e.g. 'dense/bias') matches a regex of `var_names`."""
        if var_names is not None and (isinstance(var_names, str) or not all(isinstance(n, str) for n in var_names)):
            raise TypeError(f"Argument `var_names` must be a list of strings. Received: {var_names!r}")
        self._exclude_ids |= {id(v) for v in (var_list or [])}
        self._exclude_names += list(var_names or [])

    def _decays(self, variable, name):
        if id(variable) in self._exclude_ids:
            return False
        return not (name is not None and any(re.search(pattern, name) for pattern in self._exclude_names))

    # ---- updates ---------------------------------------------------------------------------------
    def _clip(self, grads):
        if self.clipnorm:
            return [g * (self.clipnorm / max(float(np.sqrt(np.sum(g * g))), self.clipnorm)) for g in grads]
        if self.global_clipnorm:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            return [g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def build(self, variables):
        """Creates the slots for `variables` (arrays), once; nothing if already built."""
        if self._slots is None:
            self._shapes = [np.shape(v) for v in variables]
            self._slots = [self._new_slots(np.asarray(v)) for v in variables]

    @property
    def built(self):
        return self._slots is not None

    def apply_gradients(self, grads_and_vars, variable_names=None):
        """Updates each variable in place from its gradient: a list of (gradient, variable).

        Args:
            variable_names: rnnkit's extension, the variables' names, for
                `exclude_from_weight_decay(var_names=...)`.
        """
        grads_and_vars = list(grads_and_vars)
        variables = [v for _, v in grads_and_vars]
        shapes = [v.shape for v in variables]
        if self._slots is None:
            self.build(variables)
        elif shapes != self._shapes:
            raise ValueError("This optimizer was built for other weights (the model changed since). "
                             f"Received: shapes {shapes}, expected {self._shapes}")
        grads = self._clip([np.asarray(g, dtype=v.dtype) for g, v in grads_and_vars])
        lr = self._lr_at(self.iterations)
        self._step_lr = lr
        if self.weight_decay:
            names = variable_names or [None] * len(variables)
            for variable, name in zip(variables, names):
                if self._decays(variable, name):
                    variable -= variable * np.asarray(self.weight_decay * lr, variable.dtype)
        self._before_step()
        for grad, variable, slots in zip(grads, variables, self._slots):
            self._update(variable, grad, slots)
        self.iterations += 1

    def _before_step(self):
        pass

    def _new_slots(self, variable):
        return {}

    # ---- state: Keras's variable order -----------------------------------------------------------
    def _slot_order(self):
        """[(group keys)] of the slots this configuration has, in Keras's creation order."""
        present = set(self._slots[0]) if self._slots else set()
        return [[key for key in group if key in present] for group in self._slot_groups
                if any(key in present for key in group)]

    def _ordered_slots(self):
        out = []
        for group in self._slot_order():
            for slots in self._slots:
                out += [(key, slots[key]) for key in group]
        return out

    @property
    def variables(self):
        """tf_keras 2's `optimizer.variables()`: [iterations, slots...], slots in Keras's order
        (per weight within a group, groups in creation order; e.g. Adam m_0, v_0, m_1, v_1, ...,
        RMSprop all velocities then all momentums). Copies: change the state with
        `set_variables`. Callable too."""
        return _VariableList(self.get_variables("tf_keras"))

    def get_variables(self, layout="tf_keras"):
        """The optimizer's state as arrays in Keras's order.

        Args:
            layout: 'tf_keras' ([iterations, slots...], the `optimizer_weights` of a Keras 2 .h5)
                or 'keras3' ([iteration, learning_rate, slots...], `optimizer/vars/<i>` of a .keras;
                no learning_rate entry when it is a schedule or a callable).
        """
        layout = self._check_layout(layout)
        head = [np.array(self.iterations, np.int64)]
        if layout == "keras3" and not callable(self._learning_rate):
            head.append(np.array(self._learning_rate, np.float32))
        slots = [slot.copy() for _, slot in (self._ordered_slots() if self._slots else [])]
        return head + slots + (self._extra_variables(layout) if self._slots else [])

    def _extra_variables(self, layout):
        """Variables Keras keeps after the slots (Keras 3's Nadam u_product)."""
        return []

    def _set_extra_variables(self, values, layout):
        pass

    def variable_names(self, weight_names, layout="tf_keras"):
        """The names Keras gives `get_variables(layout)`'s entries, for weights named
        `weight_names` (tf_keras: 'Adam/m/dense/kernel:0'; Keras 3: 'adam/dense_kernel_momentum')."""
        layout = self._check_layout(layout)
        if self._slots is None:
            raise ValueError("The optimizer has no slots yet: build it first. Received: an unbuilt optimizer")
        if len(weight_names) != len(self._slots):
            raise ValueError(f"Argument `weight_names` must name the {len(self._slots)} weights. "
                             f"Received: {len(weight_names)} names")
        index = 0 if layout == "tf_keras" else 1
        if layout == "tf_keras":
            names = ["iteration:0"]
        else:
            names = ["iteration"] + ([] if callable(self._learning_rate) else ["learning_rate"])
        for group in self._slot_order():
            for weight in weight_names:
                for key in group:
                    slot = self._slot_names[key][index]
                    if layout == "tf_keras":
                        names.append(f"{self.name}/{slot}/{weight}:0")
                    else:
                        names.append(f"{self.name.lower()}/{weight.replace('/', '_')}_{slot}")
        return names

    def set_variables(self, values, variables=None, layout="tf_keras"):
        """Restores the state from `get_variables(layout)`'s list (or a Keras file's optimizer
        weights in that order). All or nothing: every count, shape and value is checked first.

        Args:
            values: the arrays, in Keras's order.
            variables: the weights (arrays, in the model's trainable order) to build the slots
                for when the optimizer is not built yet.
            layout: 'tf_keras' or 'keras3'.

        Raises:
            ValueError: for a wrong count, a wrong shape or a non-finite value.
        """
        layout = self._check_layout(layout)
        values = [np.asarray(v) for v in values]
        if self._slots is None:
            if variables is None:
                raise ValueError("Argument `variables` is needed to build an optimizer that has no slots yet. "
                                 "Received: variables=None")
            shapes = [np.shape(v) for v in variables]
            template = [self._new_slots(np.zeros(shape, np.asarray(v).dtype)) for shape, v in zip(shapes, variables)]
        else:
            shapes, template = self._shapes, self._slots
        head = 1 + (layout == "keras3" and not callable(self._learning_rate))
        saved_slots, current = self._slots, template
        self._slots = template
        try:
            order = self._ordered_slots()
        finally:
            self._slots = saved_slots
        extra = len(self._extra_variables(layout))
        if len(values) != head + len(order) + extra:
            raise ValueError(f"{type(self).__name__} has {head + len(order) + extra} variables in the {layout} "
                             f"layout. Received: {len(values)} arrays")
        extra_values = values[head + len(order):]
        values = values[:head + len(order)]
        if not all(v.shape == () and np.isfinite(v) for v in extra_values):
            raise ValueError(f"The last {extra} variables must be finite scalars. Received: {extra_values!r}")
        iterations = values[0]
        if iterations.shape != () or not np.isfinite(iterations) or iterations < 0 or iterations != np.round(iterations):
            raise ValueError(f"The first variable must be the iteration count, an int >= 0. Received: {iterations!r}")
        for i, ((key, slot), value) in enumerate(zip(order, values[head:])):
            if value.shape != slot.shape or not np.isfinite(value).all():
                raise ValueError(f"Optimizer variable {head + i} ({key}) must be finite with shape {slot.shape}. "
                                 f"Received: shape {value.shape}")
        if head == 2:
            learning_rate = _check_number(float(values[1]), "learning_rate")
        for (key, slot), value in zip(order, values[head:]):
            slot[...] = value
        self._slots, self._shapes = current, shapes
        self.iterations = int(iterations)
        if head == 2:
            self._learning_rate = learning_rate
        self._restored()
        self._set_extra_variables(extra_values, layout)

    def _restored(self):
        pass

    @staticmethod
    def _check_layout(layout):
        if layout not in ("tf_keras", "keras3"):
            raise ValueError(f"Argument `layout` must be 'tf_keras' or 'keras3'. Received: {layout!r}")
        return layout

    # ---- config ----------------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = self.learning_rate
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "loss_scale_factor": None, "gradient_accumulation_steps": None}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum. Defaults: learning_rate=0.01.

    Ranges: momentum in [0, 1].
    """

    _slot_groups = (("m",),)
    _slot_names = {"m": ("m", "momentum")}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_number(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _new_slots(self, variable):
        return {"m": np.zeros_like(variable)} if self.momentum else {}

    def _update(self, w, g, slots):
        lr = np.asarray(self._step_lr, w.dtype)
        if not self.momentum:
            w -= lr * g
            return
        m = slots["m"]
        m *= self.momentum
        m -= lr * g
        if self.nesterov:
            w += self.momentum * m - lr * g
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam. Defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False.

    Ranges: beta_1 and beta_2 in [0, 1), epsilon > 0.
    """

    _slot_groups = (("m", "v"), ("v_hat",))
    _slot_names = {"m": ("m", "momentum"), "v": ("v", "velocity"), "v_hat": ("vhat", "velocity_hat")}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_number(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = _check_number(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = _check_epsilon(epsilon)
        self.amsgrad = bool(amsgrad)

    def _new_slots(self, variable):
        slots = {"m": np.zeros_like(variable), "v": np.zeros_like(variable)}
        if self.amsgrad:
            slots["v_hat"] = np.zeros_like(variable)
        return slots

    def _update(self, w, g, slots):
        t = self.iterations + 1
        alpha = self._step_lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = slots["m"], slots["v"]
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        if self.amsgrad:
            np.maximum(slots["v_hat"], v, out=slots["v_hat"])
            v = slots["v_hat"]
        w -= (m * np.asarray(alpha, w.dtype)) / (np.sqrt(v) + np.asarray(self.epsilon, w.dtype))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop. Defaults: learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False.

    Ranges: rho in [0, 1), momentum in [0, 1], epsilon > 0.
    """

    _slot_groups = (("v",), ("m",), ("a",))
    _slot_names = {"v": ("velocity", "velocity"), "m": ("momentum", "momentum"),
                   "a": ("average_gradient", "average_gradient")}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_number(rho, "rho", 0.0, 1.0, high_open=True)
        self.momentum = _check_number(momentum, "momentum", 0.0, 1.0)
        self.epsilon = _check_epsilon(epsilon)
        self.centered = bool(centered)

    def _new_slots(self, variable):
        slots = {"v": np.zeros_like(variable)}
        if self.momentum:
            slots["m"] = np.zeros_like(variable)
        if self.centered:
            slots["a"] = np.zeros_like(variable)
        return slots

    def _update(self, w, g, slots):
        v = slots["v"]
        v *= self.rho
        v += (1 - self.rho) * g * g
        if self.centered:
            a = slots["a"]
            a *= self.rho
            a += (1 - self.rho) * g
            denominator = v - a * a + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = np.asarray(self._step_lr, w.dtype) * g / np.sqrt(denominator)
        if self.momentum:
            m = slots["m"]
            m *= self.momentum
            m += increment
            w -= m
        else:
            w -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad. Defaults: learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7.

    Ranges: initial_accumulator_value >= 0 and epsilon >= 0, not both 0.
    """

    _slot_groups = (("acc",),)
    _slot_names = {"acc": ("accumulator", "accumulator")}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _check_number(initial_accumulator_value, "initial_accumulator_value")
        self.epsilon = _check_number(epsilon, "epsilon")
        if self.initial_accumulator_value + self.epsilon <= 0:
            raise ValueError("Arguments `initial_accumulator_value` and `epsilon` cannot both be 0: the first "
                             "update would divide 0 by 0. Received: initial_accumulator_value="
                             f"{initial_accumulator_value!r}, epsilon={epsilon!r}")

    def _new_slots(self, variable):
        return {"acc": np.full_like(variable, self.initial_accumulator_value)}

    def _update(self, w, g, slots):
        acc = slots["acc"]
        acc += g * g
        w -= np.asarray(self._step_lr, w.dtype) * g / np.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras's AdamW): before Adam's update every weight not
    excluded gets w <- w - lr * weight_decay * w. Defaults: learning_rate=0.001,
    weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be set for AdamW. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Keras's Nadam, with its 0.96 momentum schedule). Defaults:
    learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7.

    The running product P_t of the momentum schedule u_1 u_2 ... u_t is what tf_keras 2.x's
    fit and train_on_batch compute: its guard against updating P once per weight is a Python
    counter that tf.function bakes in at tracing, so P is multiplied by u_t once per weight at
    every step (P_t = (u_1 ... u_t)^n for n weights). The recorded tf_keras run
    `train_graph/conv1d_maxpool_lstm_nadam` pins this. Keras 3 multiplies once per step:
    `u_product="per_step"` (rnnkit's extension) gives Keras 3's numbers.

    Ranges: beta_1 and beta_2 in [0, 1), epsilon > 0.
    """

    _slot_groups = (("m", "v"),)
    _slot_names = {"m": ("m", "momentum"), "v": ("v", "velocity")}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, u_product="per_variable",
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_number(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = _check_number(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = _check_epsilon(epsilon)
        if u_product not in ("per_variable", "per_step"):
            raise ValueError("Argument `u_product` must be 'per_variable' (tf_keras 2) or 'per_step' (Keras 3). "
                             f"Received: {u_product!r}")
        self.u_product = u_product
        self._u_product = 1.0

    def _u(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _restored(self):
        # The product of the momentum schedule is a function of the step count (and weight count).
        power = len(self._slots) if self.u_product == "per_variable" else 1
        self._u_product = math.prod(self._u(t) ** power for t in range(1, self.iterations + 1))

    def _extra_variables(self, layout):
        return [np.array(self._u_product, np.float32)] if layout == "keras3" else []

    def _set_extra_variables(self, values, layout):
        if values:
            self._u_product = float(values[0])

    def _new_slots(self, variable):
        return {"m": np.zeros_like(variable), "v": np.zeros_like(variable)}

    def _before_step(self):
        t = self.iterations + 1
        self._u_t, self._u_next = self._u(t), self._u(t + 1)
        if self.u_product == "per_step":
            self._u_product *= self._u_t
        self._beta_2_power = self.beta_2 ** t

    def _update(self, w, g, slots):
        if self.u_product == "per_variable":
            self._u_product *= self._u_t
        m, v = slots["m"], slots["v"]
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        m_hat = (self._u_next * m / (1 - self._u_product * self._u_next)
                 + (1 - self._u_t) * g / (1 - self._u_product))
        v_hat = v / (1 - self._beta_2_power)
        w -= (m_hat * np.asarray(self._step_lr, w.dtype)) / (np.sqrt(v_hat) + np.asarray(self.epsilon, w.dtype))

    def get_config(self):
        config = {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        if self.u_product != "per_variable":     # Keras's own configs have no such key
            config["u_product"] = self.u_product
        return config


class Adamax(Optimizer):
    """Adam with the infinity norm. Defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7.

    Ranges: beta_1 and beta_2 in [0, 1), epsilon > 0.
    """

    _slot_groups = (("m", "u"),)
    _slot_names = {"m": ("m", "momentum"), "u": ("u", "norm")}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_number(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = _check_number(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = _check_epsilon(epsilon)

    def _new_slots(self, variable):
        return {"m": np.zeros_like(variable), "u": np.zeros_like(variable)}

    def _update(self, w, g, slots):
        m, u = slots["m"], slots["u"]
        m += (g - m) * (1 - self.beta_1)
        np.maximum(self.beta_2 * u, np.abs(g), out=u)
        scale = self._step_lr / (1 - self.beta_1 ** (self.iterations + 1))
        w -= (m * np.asarray(scale, w.dtype)) / (u + np.asarray(self.epsilon, w.dtype))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta. Defaults: learning_rate=0.001, rho=0.95, epsilon=1e-7.

    Ranges: rho in [0, 1), epsilon > 0.
    """

    _slot_groups = (("accumulated_grad", "accumulated_delta_var"),)
    _slot_names = {"accumulated_grad": ("accumulated_grad", "accumulated_grad"),
                   "accumulated_delta_var": ("accumulated_delta_var", "accumulated_delta_var")}

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_number(rho, "rho", 0.0, 1.0, high_open=True)
        self.epsilon = _check_epsilon(epsilon)

    def _new_slots(self, variable):
        return {"accumulated_grad": np.zeros_like(variable), "accumulated_delta_var": np.zeros_like(variable)}

    def _update(self, w, g, slots):
        a, s = slots["accumulated_grad"], slots["accumulated_delta_var"]
        a *= self.rho
        a += (1 - self.rho) * g * g
        delta = -np.sqrt(s + self.epsilon) * g / np.sqrt(a + self.epsilon)
        s *= self.rho
        s += (1 - self.rho) * delta * delta
        w += np.asarray(self._step_lr, w.dtype) * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """Follow The Regularized Leader (Keras's Ftrl). Defaults: learning_rate=0.001,
    learning_rate_power=-0.5, initial_accumulator_value=0.1, l1/l2/l2_shrinkage regularization
    strengths 0, beta=0.

    Ranges: learning_rate > 0, learning_rate_power <= 0, initial_accumulator_value >= 0, the
    strengths and beta >= 0.
    """

    _slot_groups = (("accumulator", "linear"),)
    _slot_names = {"accumulator": ("accumulator", "accumulator"), "linear": ("linear", "linear")}

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not callable(self._learning_rate) and self._learning_rate <= 0:
            raise ValueError(f"Argument `learning_rate` must be > 0 for Ftrl (it divides by it). "
                             f"Received: {learning_rate!r}")
        self.learning_rate_power = _check_number(learning_rate_power, "learning_rate_power", -math.inf)
        if self.learning_rate_power > 0:
            raise ValueError(f"Argument `learning_rate_power` must be <= 0. Received: {learning_rate_power!r}")
        self.initial_accumulator_value = _check_number(initial_accumulator_value, "initial_accumulator_value")
        self.l1_regularization_strength = _check_number(l1_regularization_strength, "l1_regularization_strength")
        self.l2_regularization_strength = _check_number(l2_regularization_strength, "l2_regularization_strength")
        self.l2_shrinkage_regularization_strength = _check_number(
            l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength")
        self.beta = _check_number(beta, "beta")

    def _new_slots(self, variable):
        return {"accumulator": np.full_like(variable, self.initial_accumulator_value),
                "linear": np.zeros_like(variable)}

    def _update(self, w, g, slots):
        lr = self._step_lr
        n, z = slots["accumulator"], slots["linear"]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        grad_to_use = g + 2 * self.l2_shrinkage_regularization_strength * w
        new_n = n + g * g
        z += grad_to_use - (new_n ** power - n ** power) / lr * w
        quadratic = new_n ** power / lr + 2 * l2
        l1 = self.l1_regularization_strength
        w[...] = (np.clip(z, -l1, l1) - z) / quadratic
        n[...] = new_n

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lion(Optimizer):
    """Lion (sign of an interpolated momentum). Defaults: learning_rate=0.001, beta_1=0.9,
    beta_2=0.99.

    Ranges: beta_1 in (0, 1], beta_2 in [0, 1].
    """

    _slot_groups = (("m",),)
    _slot_names = {"m": ("m", "momentum")}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_number(beta_1, "beta_1", 0.0, 1.0, low_open=True)
        self.beta_2 = _check_number(beta_2, "beta_2", 0.0, 1.0)

    def _new_slots(self, variable):
        return {"m": np.zeros_like(variable)}

    def _update(self, w, g, slots):
        m = slots["m"]
        w -= np.asarray(self._step_lr, w.dtype) * np.sign(m * self.beta_1 + g * (1 - self.beta_1))
        m *= self.beta_2
        m += g * (1 - self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad, "adamw": AdamW, "nadam": Nadam,
            "adamax": Adamax, "adadelta": Adadelta, "ftrl": Ftrl, "lion": Lion}


def serialize(optimizer):
    """An optimizer as Keras 3's plain data: {"module", "class_name", "config", "registered_name"}."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config):
    return get(config)


def get(identifier):
    """An Optimizer from a name ('adam'), a class name ('Adam'), a Keras config dict or an instance.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything else.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Argument `optimizer` must be one of {sorted(_BY_NAME)}. Received: {identifier!r}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        # tf_keras writes its own optimizers as "Custom>Adam" in training_config
        cls = _BY_NAME.get(str(identifier["class_name"]).split(">")[-1].lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer class. Received: {identifier['class_name']!r}")
        config = dict(identifier.get("config") or {})
        if config.get("ema_overwrite_frequency") is not None and not config.get("use_ema"):
            config["ema_overwrite_frequency"] = None      # tf_keras writes 100 with use_ema off
        return cls.from_config(config)
    raise TypeError(f"Argument `optimizer` must be a name or an Optimizer. Received: {identifier!r}")
