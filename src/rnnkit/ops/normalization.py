"""Batch and layer normalization; `axes` are the axes the statistics run over.

    mu = mean_axes x,  var = mean_axes (x - mu)^2     (biased), N = the cells averaged
    r = 1 / sqrt(var + eps),  xh = (x - mu) r,  y = gamma xh + beta
    batch norm: axes = every axis but the feature axis; gamma, beta per feature
                inference: mu, var = moving_mean, moving_variance (no statistics of x)
                training updates moving = momentum moving + (1 - momentum) batch statistic
    layer norm: axes = the normalized axes of each sample; gamma, beta over those axes

    dbeta = sum_other dy,  dgamma = sum_other dy xh         (from y = gamma xh + beta)
    dxh = dy gamma                                           (from y = gamma xh + beta)
    dx = r (dxh - mean_axes dxh - xh mean_axes(dxh xh))      (from xh = (x - mu) r with mu, r of x)
    inference: dx = dxh r                                    (mu, r are constants)
"""

import numpy as np


def normalize_forward(x, gamma, beta, axes, epsilon, mean=None, variance=None, training=False):
    """y = gamma (x - mean) / sqrt(variance + eps) + beta. `mean`/`variance` None: the
    statistics of x over `axes`. gamma, beta: None or broadcastable to x. Returns (y, cache,
    batch mean, batch variance)."""
    own = mean is None
    if own:
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        variance = np.mean(centered * centered, axis=axes, keepdims=True)
    else:
        centered = x - mean
    r = 1.0 / np.sqrt(variance + epsilon)
    xh = centered * r
    y = xh * gamma if gamma is not None else xh.copy()
    if beta is not None:
        y += beta
    cache = (xh, r, own) if training else None
    return y, cache, mean, variance


def normalize_backward(dy, cache, gamma, axes, param_axes):
    """(dx, dgamma or None, dbeta): param_axes are the axes gamma/beta are shared over."""
    xh, r, own = cache
    dgamma = None if gamma is None else np.sum(dy * xh, axis=param_axes)
    dbeta = np.sum(dy, axis=param_axes)
    dxh = dy * gamma if gamma is not None else dy
    if own:
        dx = r * (dxh - dxh.mean(axis=axes, keepdims=True) - xh * np.mean(dxh * xh, axis=axes, keepdims=True))
    else:
        dx = dxh * r
    return dx, dgamma, dbeta
