"""Hand-written NumPy references of Keras 3's optimizers (``keras/src/optimizers/*.py``, ``update_step``).

A :class:`KerasReference` holds a list of variables and Keras's optimizer
variables for them, and ``apply(grads)`` does what ``Optimizer.apply`` does:
filter ``None`` gradients, clip, decay the weights with the current learning
rate, run ``update_step`` per variable, then ``iterations += 1``. Arithmetic is
done in each variable's dtype; the learning rate is a float32 variable cast to
it (``backend.floatx()``), as in Keras.
"""

from __future__ import annotations

import math

import numpy as np


def _clip_by_norm(g, c):
    l2 = np.sqrt(np.sum(np.square(g)))
    return g * g.dtype.type(c) / np.maximum(l2, g.dtype.type(c))


def _clip_by_global_norm(grads, c):
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    scale = c * np.minimum(1.0 / norm, 1.0 / c) + (norm - norm)
    return [g * g.dtype.type(scale) for g in grads]


class KerasReference:
    def __init__(self, name, variables, learning_rate, weight_decay=None, decay_mask=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, **hp):
        self.name, self.hp = name, hp
        self.vars = [np.array(v) for v in variables]
        self.lr = learning_rate  # float or schedule(step)
        self.weight_decay, self.clipnorm, self.clipvalue, self.global_clipnorm = (
            weight_decay, clipnorm, clipvalue, global_clipnorm)
        self.decay_mask = decay_mask or [True] * len(variables)
        self.iterations = 0
        zeros = lambda: [np.zeros_like(v) for v in self.vars]  # noqa: E731
        if name == "adagrad":
            self.slots = {"acc": [np.full_like(v, hp.get("initial_accumulator_value", 0.1)) for v in self.vars]}
        else:
            self.slots = {k: zeros() for k in ("m", "v", "v_hat", "a", "mom", "eg", "ed", "u")}
        self.u_product = self.vars[0].dtype.type(1.0)

    def learning_rate(self):
        lr = self.lr(self.iterations) if callable(self.lr) else self.lr
        return np.float32(lr)

    def apply(self, grads):
        idx = [i for i, g in enumerate(grads) if g is not None]
        grads = [np.asarray(grads[i], self.vars[i].dtype) for i in idx]
        if self.clipnorm and self.clipnorm > 0:
            grads = [_clip_by_norm(g, self.clipnorm) for g in grads]
        elif self.global_clipnorm and self.global_clipnorm > 0:
            grads = _clip_by_global_norm(grads, self.global_clipnorm)
        elif self.clipvalue and self.clipvalue > 0:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        lr32 = self.learning_rate()
        if self.weight_decay is not None:
            for i in idx:
                if self.decay_mask[i]:
                    d = self.vars[i].dtype.type
                    v = self.vars[i]
                    self.vars[i] = v - v * d(self.weight_decay) * d(lr32)
        if self.name == "nadam":
            d = self.u_product.dtype.type
            self.u_product = self.u_product * self.hp.get("beta_1", 0.9) * (
                1.0 - 0.5 * np.power(d(0.96), d(self.iterations + 1)))
        for i, g in zip(idx, grads):
            self.vars[i] = getattr(self, "_" + self.name)(i, g, self.vars[i].dtype.type(lr32))
        self.iterations += 1

    # ---- update_step of each optimizer, in the variable's dtype

    def _sgd(self, i, g, lr):
        momentum = self.hp.get("momentum", 0.0)
        p = self.vars[i]
        if momentum == 0:
            return p - g * lr
        m = self.slots["m"][i] = self.slots["m"][i] * p.dtype.type(momentum) - g * lr
        if self.hp.get("nesterov", False):
            return p + (m * p.dtype.type(momentum) - g * lr)
        return p + m

    def _adam(self, i, g, lr, amsgrad=None):
        b1, b2, eps = self.hp.get("beta_1", 0.9), self.hp.get("beta_2", 0.999), self.hp.get("epsilon", 1e-7)
        amsgrad = self.hp.get("amsgrad", False)
        d = g.dtype.type
        t = d(self.iterations + 1)
        alpha = lr * np.sqrt(1 - np.power(d(b2), t)) / (1 - np.power(d(b1), t))
        m = self.slots["m"][i] = self.slots["m"][i] + (g - self.slots["m"][i]) * (1 - b1)
        v = self.slots["v"][i] = self.slots["v"][i] + (np.square(g) - self.slots["v"][i]) * (1 - b2)
        if amsgrad:
            v = self.slots["v_hat"][i] = np.maximum(self.slots["v_hat"][i], v)
        return self.vars[i] - m * alpha / (np.sqrt(v) + eps)

    _adamw = _adam

    def _adamax(self, i, g, lr):
        b1, b2, eps = self.hp.get("beta_1", 0.9), self.hp.get("beta_2", 0.999), self.hp.get("epsilon", 1e-7)
        d = g.dtype.type
        t = d(self.iterations + 1)
        m = self.slots["m"][i] = self.slots["m"][i] + (g - self.slots["m"][i]) * (1 - b1)
        u = self.slots["u"][i] = np.maximum(b2 * self.slots["u"][i], np.abs(g))
        return self.vars[i] - lr * m / ((1 - np.power(d(b1), t)) * (u + eps))

    def _nadam(self, i, g, lr):
        b1, b2, eps = self.hp.get("beta_1", 0.9), self.hp.get("beta_2", 0.999), self.hp.get("epsilon", 1e-7)
        d = g.dtype.type
        t, t1 = d(self.iterations + 1), d(self.iterations + 2)
        u_t = d(b1) * (1.0 - 0.5 * np.power(d(0.96), t))
        u_t_1 = d(b1) * (1.0 - 0.5 * np.power(d(0.96), t1))
        u_prod_t = d(self.u_product)
        u_prod_t_1 = u_prod_t * u_t_1
        m = self.slots["m"][i] = self.slots["m"][i] + (g - self.slots["m"][i]) * (1 - b1)
        v = self.slots["v"][i] = self.slots["v"][i] + (np.square(g) - self.slots["v"][i]) * (1 - b2)
        m_hat = u_t_1 * m / (1 - u_prod_t_1) + (1 - u_t) * g / (1 - u_prod_t)
        v_hat = v / (1 - np.power(d(b2), t))
        return self.vars[i] - m_hat * lr / (np.sqrt(v_hat) + eps)

    def _rmsprop(self, i, g, lr):
        rho, momentum = self.hp.get("rho", 0.9), self.hp.get("momentum", 0.0)
        eps, centered = self.hp.get("epsilon", 1e-7), self.hp.get("centered", False)
        v = self.slots["v"][i] = rho * self.slots["v"][i] + (1 - rho) * np.square(g)
        if centered:
            a = self.slots["a"][i] = rho * self.slots["a"][i] + (1 - rho) * g
            denominator = v - np.square(a) + eps
        else:
            denominator = v + eps
        inc = lr * g / np.sqrt(denominator)
        if momentum > 0:
            mom = self.slots["mom"][i] = momentum * self.slots["mom"][i] + inc
            return self.vars[i] - mom
        return self.vars[i] - inc

    def _adagrad(self, i, g, lr):
        eps = self.hp.get("epsilon", 1e-7)
        acc = self.slots["acc"][i] = self.slots["acc"][i] + np.square(g)
        return self.vars[i] - lr * g / np.sqrt(acc + eps)

    def _adadelta(self, i, g, lr):
        rho, eps = self.hp.get("rho", 0.95), self.hp.get("epsilon", 1e-7)
        eg = self.slots["eg"][i] = rho * self.slots["eg"][i] + (1 - rho) * np.square(g)
        delta = -(np.sqrt(self.slots["ed"][i] + eps) * g / np.sqrt(eg + eps))
        self.slots["ed"][i] = rho * self.slots["ed"][i] + (1 - rho) * np.square(delta)
        return self.vars[i] + lr * delta

    def _lion(self, i, g, lr):
        b1, b2 = self.hp.get("beta_1", 0.9), self.hp.get("beta_2", 0.99)
        d = g.dtype.type
        m = self.slots["m"][i]
        p = self.vars[i] - lr * np.sign(m * d(b1) + g * (1.0 - d(b1)))
        self.slots["m"][i] = m * d(b2) + g * (1.0 - d(b2))
        return p


# ---- schedules, by hand (plain Python floats)

def exponential(step, lr0, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr0 * rate ** (math.floor(p) if staircase else p)


def cosine(step, lr0, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    if warmup_target is None:
        s = min(step, decay_steps)
        return lr0 * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)
    s = min(step, decay_steps + warmup_steps)
    if s < warmup_steps:
        return (warmup_target - lr0) * s / warmup_steps + lr0
    s -= warmup_steps
    return warmup_target * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)
