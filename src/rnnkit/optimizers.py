"""Keras's optimizers (the Keras 2.11+ / Keras 3 formulas), updating weights in place.

Per weight w with gradient g, after clipping (only one of these, checked in this order):
    clipnorm:        g <- g * clipnorm / max(||g||, clipnorm)             (each weight alone)
    global_clipnorm: g <- g * c / max(||all g||, c)
    clipvalue:       g <- clip(g, -clipvalue, clipvalue)

    SGD:      momentum 0:  w -= lr g
              else:        m = momentum m - lr g;  w += m               (nesterov: w += momentum m - lr g)
    Adam:     t = iterations + 1;  a = lr sqrt(1 - b2^t) / (1 - b1^t)
              m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2)            (amsgrad: v_hat = max(v_hat, v))
              w -= a m / (sqrt(v) + epsilon)
    RMSprop:  v = rho v + (1 - rho) g^2;  centered: a = rho a + (1 - rho) g, d = v - a^2 + epsilon
              else d = v + epsilon;  inc = lr g / sqrt(d)
              momentum 0: w -= inc;  else m = momentum m + inc; w -= m
    Adagrad:  acc += g^2 (acc starts at initial_accumulator_value);  w -= lr g / sqrt(acc + epsilon)
"""

import math

import numpy as np


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


class Optimizer:
    """Base class: clipping, the step counter and per-weight slots.

    Args:
        learning_rate: a finite float >= 0.
        clipnorm, clipvalue, global_clipnorm: optional gradient clipping, positive; at most one.

    Raises:
        TypeError: for a hyper-parameter that is not a number.
        ValueError: for one outside its range (each optimizer's docstring gives them), checked
            at construction so that fit never fails half-way.
    """

    def __init__(self, learning_rate=0.001, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, weight_decay=None, use_ema=False, **kwargs):
        kwargs.pop("ema_momentum", None)
        kwargs.pop("ema_overwrite_frequency", None)
        kwargs.pop("jit_compile", None)
        kwargs.pop("is_legacy_optimizer", None)
        kwargs.pop("loss_scale_factor", None)
        kwargs.pop("gradient_accumulation_steps", None)
        if kwargs:
            raise TypeError(f"Unexpected keyword arguments for {type(self).__name__}: {sorted(kwargs)}. "
                            f"Received: {kwargs!r}")
        if weight_decay or use_ema:
            raise ValueError("Arguments `weight_decay` and `use_ema` are not supported by rnnkit. "
                             f"Received: weight_decay={weight_decay!r}, use_ema={use_ema!r}")
        self.learning_rate = _check_number(learning_rate, "learning_rate")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = {name: value for name, value in clips.items() if value is not None}
        if len(given) > 1:   # Keras 3's rule
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: {', '.join(f'{k}={v!r}' for k, v in given.items())}")
        checked = {name: _check_number(value, name, low_open=True) for name, value in given.items()}
        self.clipnorm = checked.get("clipnorm")
        self.clipvalue = checked.get("clipvalue")
        self.global_clipnorm = checked.get("global_clipnorm")
        self.name = name or type(self).__name__
        self.iterations = 0
        self._slots = None
        self._shapes = None

    def _clip(self, grads):
        if self.clipnorm:
            return [g * (self.clipnorm / max(float(np.sqrt(np.sum(g * g))), self.clipnorm)) for g in grads]
        if self.global_clipnorm:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            return [g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def apply_gradients(self, grads_and_vars):
        """Updates each variable in place from its gradient: a list of (gradient, variable)."""
        grads_and_vars = list(grads_and_vars)
        variables = [v for _, v in grads_and_vars]
        shapes = [v.shape for v in variables]
        if self._slots is None:
            self._shapes = shapes
            self._slots = [self._new_slots(v) for v in variables]
        elif shapes != self._shapes:
            raise ValueError("This optimizer was built for other weights (the model changed since). "
                             f"Received: shapes {shapes}, expected {self._shapes}")
        grads = self._clip([np.asarray(g, dtype=v.dtype) for g, v in grads_and_vars])
        for grad, variable, slots in zip(grads, variables, self._slots):
            self._update(variable, grad, slots)
        self.iterations += 1

    def _new_slots(self, variable):
        return {}

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum. Defaults: learning_rate=0.01.

    Ranges: momentum in [0, 1].
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_number(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _new_slots(self, variable):
        return {"m": np.zeros_like(variable)} if self.momentum else {}

    def _update(self, w, g, slots):
        lr = np.asarray(self.learning_rate, w.dtype)
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
        alpha = self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
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
        increment = np.asarray(self.learning_rate, w.dtype) * g / np.sqrt(denominator)
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
        w -= np.asarray(self.learning_rate, w.dtype) * g / np.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}


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
        cls = _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer class. Received: {identifier['class_name']!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    raise TypeError(f"Argument `optimizer` must be a name or an Optimizer. Received: {identifier!r}")
