"""Independent NumPy references: hand-written losses, gradients and update loops.

Nothing here calls gdjax's kernels; only the row permutation is borrowed (through the public
``gdjax.sampling.epoch_permutation``) so that both sides see exactly the same rows.
"""

import numpy as np

from gdjax import sampling


def design(X, intercept):
    return np.hstack([X, np.ones((len(X), 1))]) if intercept else X


def loss_and_grad(kind, theta, A, y, l2=0.0, intercept=True):
    """Loss and gradient of the mean loss over the rows of A (features + ones column)."""
    n = len(A)
    if kind == "linear":
        r = A @ theta - y
        return np.mean(r * r), 2 * A.T @ r / n
    pen = np.full(theta.shape, l2)
    if intercept:
        pen[-1] = 0.0
    if kind == "logistic":
        z = A @ theta
        s = 1 / (1 + np.exp(-z))
        f = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * np.sum(pen * theta**2)
        return f, A.T @ (s - y) / n + pen * theta
    if kind == "softmax":
        Z = A @ theta
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        Y = np.eye(theta.shape[1])[y.astype(int)]
        f = np.mean(-np.log((P * Y).sum(axis=1))) + 0.5 * np.sum(pen * theta**2)
        return f, A.T @ (P - Y) / n + pen * theta
    raise ValueError(kind)


def batches(n, b, epochs, shuffle, seed):
    """The row indices of every step, replaying gdjax's sampling rules."""
    spe = max(1, n // b)
    for e in range(epochs):
        if b == n:
            order = np.arange(n)
        elif shuffle:
            order = sampling.epoch_permutation(seed, e, n)
        else:
            order = np.arange(n)
        for k in range(spe):
            yield order[k * b : (k + 1) * b]


def gd_loop(
    kind,
    X,
    y,
    *,
    lr,
    b,
    epochs,
    shuffle=True,
    seed=0,
    intercept=True,
    l2=0.0,
    optimizer="sgd",
    theta0=None,
    dtype=np.float64,
    lr_factor=None,
    max_steps=None,
):
    """Gradient descent one step at a time; returns (theta, full-data losses after each step).

    ``max_steps``, if given, stops the loop after that many steps.
    ``lr_factor(t)``, if given, multiplies the learning rate of step t (t = 0, 1, ...): a schedule.
    """
    A = design(np.asarray(X, dtype), intercept)
    y = np.asarray(y, dtype)
    k = int(y.max()) + 1 if kind == "softmax" else None
    shape = (A.shape[1], k) if kind == "softmax" else (A.shape[1],)
    theta = np.zeros(shape, dtype) if theta0 is None else np.array(theta0, dtype)
    base_lr = dtype(lr)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    losses = [loss_and_grad(kind, theta, A, y, l2, intercept)[0]]
    for t, idx in enumerate(batches(len(A), b, epochs, shuffle, seed), start=1):
        _, g = loss_and_grad(kind, theta, A[idx], y[idx], l2, intercept)
        lr = base_lr if lr_factor is None else dtype(base_lr * lr_factor(t - 1))
        if optimizer == "sgd":
            theta = theta - lr * g
        elif optimizer == "momentum":
            m = g + 0.9 * m
            theta = theta - lr * m
        elif optimizer == "nesterov":
            m = g + 0.9 * m
            theta = theta - lr * (g + 0.9 * m)
        elif optimizer == "adam":
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            mhat = m / (1 - 0.9**t)
            vhat = v / (1 - 0.999**t)
            theta = theta - lr * mhat / (np.sqrt(vhat) + 1e-8)
        else:
            raise ValueError(optimizer)
        losses.append(loss_and_grad(kind, theta, A, y, l2, intercept)[0])
        if t == max_steps:
            break
    return theta, np.asarray(losses)


def flat_params(params, intercept=True):
    """gdjax params -> the reference's theta (weights then intercept row)."""
    w = np.asarray(params["w"])
    if not intercept:
        return w
    b = np.asarray(params["b"])
    return np.concatenate([w, b[None]], axis=0) if w.ndim == 2 else np.append(w, b)


def optax_loop(loss, params, X, y, opt, *, b, epochs, shuffle=True, seed=0):
    """An optax transformation stepped one batch at a time in Python: no vmap, no scan, the
    rows of :func:`batches`. Returns (params, full-data losses after each step)."""
    import jax
    import optax

    grad = jax.jit(jax.grad(loss))
    state = opt.init(params)
    losses = [float(loss(params, X, y))]
    for idx in batches(len(X), b, epochs, shuffle, seed):
        updates, state = opt.update(grad(params, X[idx], y[idx]), state, params)
        params = optax.apply_updates(params, updates)
        losses.append(float(loss(params, X, y)))
    return params, np.asarray(losses)
