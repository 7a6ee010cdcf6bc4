"""Custom losses written again, apart from JAX: the NumPy and PyTorch loops of a custom loss.

The ``numpy`` and ``torch`` baselines replay gdjax's plain SGD with their own gradients, so a
custom loss gets them only where its arithmetic is written here a second time: :data:`TWINS`
maps the loss function a problem was made with (``problem.spec.fn``) to its loops. Today that
is the two-layer network of :mod:`bench.examples.mlp` (the perf suite's ``mlp`` workload).

Each loop takes ``(problem, lr, rows, epochs)`` as those of :mod:`bench.perf.loops` do, starts
from the problem's initial parameters (the start every seed shares) and returns the final
parameters in the structure of ``init``. A start drawn per seed is not replayed (the loops
have seed 0's): :func:`bench.perf.loops.unsupported` refuses such a problem.

Example:
    >>> import gdjax
    >>> from bench.examples.mlp import digits_mlp
    >>> p = digits_mlp(hidden=4, init_seed=0)
    >>> sorted(twin(p)), twin(gdjax.problems.make_linear(8, 2))
    (['numpy', 'torch'], None)
"""

from __future__ import annotations

import numpy as np

from bench.examples import mlp

__all__ = ["TWINS", "mlp_numpy_loop", "mlp_torch_loop", "twin"]


def _mlp_data(problem):
    """The network's images, labels and initial parameters as NumPy arrays (copies)."""
    data = problem.data[0]
    X, y = np.array(data["image"]), np.array(data["label"])
    params = {k: np.array(v) for k, v in problem.init_params().items()}
    return X, y, params


def _each_step(rows, epochs):
    """Row indices of every step: those of ``rows`` (loops.step_rows), or every row once an
    epoch for batch GD (``rows`` empty)."""
    if not rows:
        return (slice(None) for _ in range(epochs))
    return (idx for epoch in rows for idx in epoch)


def _mlp_numpy_grads(p, X, y):
    """The gradient of :func:`bench.examples.mlp.mlp_loss` by hand: backpropagation through
    softmax cross-entropy and one tanh layer, mean over the rows."""
    m = len(X)
    h = np.tanh(X @ p["W1"] + p["b1"])
    z = h @ p["W2"] + p["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    r = e / e.sum(axis=1, keepdims=True)
    r[np.arange(m), y] -= 1.0
    r /= m  # d loss / d logits
    dh = (r @ p["W2"].T) * (1.0 - h * h)
    return {"W1": X.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ r, "b2": r.sum(axis=0)}


def mlp_numpy_loop(problem, lr, rows, epochs):
    """Plain SGD on the digits network in NumPy (the data's dtype), gradients by hand."""
    X, y, p = _mlp_data(problem)
    lr = X.dtype.type(lr)
    for idx in _each_step(rows, epochs):
        grads = _mlp_numpy_grads(p, X[idx], y[idx])
        for k, g in grads.items():
            p[k] -= lr * g
    return p


def mlp_torch_loop(problem, lr, rows, epochs):
    """``torch.optim.SGD`` with autograd on the digits network, on the same rows."""
    import torch

    X, y, init = _mlp_data(problem)
    X, y = torch.from_numpy(X), torch.from_numpy(y).long()
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    opt = torch.optim.SGD(list(p.values()), lr=lr)

    def step(Xb, yb):
        opt.zero_grad(set_to_none=True)
        logits = torch.tanh(Xb @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        torch.nn.functional.cross_entropy(logits, yb).backward()
        opt.step()

    if not rows:
        for _ in range(epochs):
            step(X, y)
    else:
        for epoch in rows:
            for idx in torch.from_numpy(np.array(epoch)):  # a writable copy
                step(X[idx], y[idx])
    return {k: v.detach().numpy() for k, v in p.items()}


#: loss function of a custom problem -> its loops written apart, by baseline name
TWINS = {mlp.mlp_loss: {"numpy": mlp_numpy_loop, "torch": mlp_torch_loop}}


def twin(problem) -> dict | None:
    """The loops written apart for ``problem``'s custom loss (baseline name -> loop), or None
    (not a custom loss, or one not written here)."""
    if problem.kind != "custom":
        return None
    return TWINS.get(problem.spec.fn)
