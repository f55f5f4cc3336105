"""Keras's learning-rate schedules: callables of the optimizer's step (its `iterations` before
the update, counted from 0), with Keras 3's formulas.

    ExponentialDecay:       lr0 * rate^(step / decay_steps)      (staircase: floor of the exponent)
    PiecewiseConstantDecay: values[i] for boundaries[i-1] < step <= boundaries[i]
    PolynomialDecay:        (lr0 - end) * (1 - min(step, N) / N)^power + end
                            (cycle: N = decay_steps * max(1, ceil(step / decay_steps)))
    InverseTimeDecay:       lr0 / (1 + rate * step / decay_steps)   (staircase: floor)
    CosineDecay:            lr0 * ((1 - alpha) * 0.5 (1 + cos(pi min(step, N) / N)) + alpha);
                            with warmup_target and warmup_steps W: linear from lr0 to the target
                            over W steps, then the cosine from the target over N steps
    CosineDecayRestarts:    cosine periods of first_decay_steps * t_mul^i, peaks lr0 * m_mul^i
"""

import math

import numpy as np


def _number(value, argument, low=None, positive=False, integer=False):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or (
            low is not None and value < low) or (positive and value <= 0):
        what = "an int" if integer else "a finite number"
        bound = " > 0" if positive else (f" >= {low}" if low is not None else "")
        raise ValueError(f"Argument `{argument}` must be {what}{bound}. Received: {value!r}")
    return int(value) if integer else float(value)


class LearningRateSchedule:
    """Base class: `schedule(step)` returns the learning rate for that step."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate", 0)
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, "decay_rate", 0)
        self.staircase, self.name = bool(staircase), name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)) \
                or len(values) != len(boundaries) + 1:
            raise ValueError("Arguments `boundaries` and `values` must be lists, `values` one longer than "
                             f"`boundaries`. Received: boundaries={boundaries!r}, values={values!r}")
        self.boundaries = [_number(b, "boundaries") for b in boundaries]
        self.values = [_number(v, "values", 0) for v in values]
        if any(b2 < b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"Argument `boundaries` must be increasing. Received: {boundaries!r}")
        self.name = name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate", 0)
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.end_learning_rate = _number(end_learning_rate, "end_learning_rate", 0)
        self.power = _number(power, "power")
        self.cycle, self.name = bool(cycle), name

    def __call__(self, step):
        step = float(step)
        decay_steps = self.decay_steps
        if self.cycle:
            multiplier = 1.0 if step == 0 else math.ceil(step / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = min(step, decay_steps)
        fraction = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - fraction) ** self.power \
            + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate", 0)
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, "decay_rate", 0)
        self.staircase, self.name = bool(staircase), name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate", 0)
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.alpha = _number(alpha, "alpha")
        self.warmup_target = None if warmup_target is None else _number(warmup_target, "warmup_target", 0)
        self.warmup_steps = _number(warmup_steps, "warmup_steps", 0)
        self.name = name

    def _decay(self, step, start):
        fraction = step / self.decay_steps
        return start * ((1 - self.alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + self.alpha)

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return (self.warmup_target - self.initial_learning_rate) * (step / self.warmup_steps) \
                + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate", 0)
        self.first_decay_steps = _number(first_decay_steps, "first_decay_steps", positive=True)
        self._t_mul = _number(t_mul, "t_mul", positive=True)
        self._m_mul = _number(m_mul, "m_mul", 0)
        self.alpha = _number(alpha, "alpha")
        self.name = name

    def __call__(self, step):
        fraction = float(step) / self.first_decay_steps
        if self._t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self._t_mul)) / math.log(self._t_mul))
            done = (1.0 - self._t_mul ** restart) / (1.0 - self._t_mul)
            fraction = (fraction - done) / self._t_mul ** restart
        cosine = 0.5 * self._m_mul ** restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                          InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config):
    """A schedule from its serialized dict {"class_name": ..., "config": {...}}.

    Raises:
        ValueError: for an unknown class.
    """
    cls = _CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"Argument `learning_rate` names an unknown schedule. Known: {sorted(_CLASSES)}. "
                         f"Received: {config.get('class_name')!r}")
    return cls.from_config(dict(config.get("config") or {}))
