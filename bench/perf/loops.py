"""The loops people write today, one configuration (one learning rate, one seed) at a time:
the baselines gdjax's sweeps are timed beside (:mod:`bench.perf.attach` times and attaches them).

- ``numpy``: the textbook loop with hand-written gradients;
- ``torch``: ``torch.optim.SGD`` with autograd (needs the ``torch`` extra);
- ``jax-loop``: one ``jax.jit``-compiled step called from a Python loop;
- ``sklearn``: scikit-learn's ``SGDRegressor`` / ``SGDClassifier``, one fit per learning rate,
  where it runs the same algorithm (per-sample SGD on least squares and logistic regression,
  :mod:`bench.perf.sklearn_fits`).

Each runs plain SGD from the problem's initial parameters on the rows :func:`step_rows` gives,
gdjax's own permutations, and returns the final parameters. ``numpy`` and ``torch`` are written
for the shipped losses of :data:`KINDS` and for the custom losses written again in
:mod:`bench.perf.twins`; ``jax-loop`` takes any loss (:func:`unsupported` says which runs where).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import gdjax
from bench.perf import sklearn_fits, twins

__all__ = [
    "ANY_LOSS",
    "KINDS",
    "LOOPS",
    "jax_loop",
    "numpy_loop",
    "step_rows",
    "torch_available",
    "torch_loop",
    "unsupported",
    "warm_up",
]

KINDS = {"linear": "linear", "logistic": "logistic", "softmax": "softmax"}  # what they implement
#: Baselines that run the problem's own JAX loss, so any loss: the others are written apart
ANY_LOSS = ("jax-loop", "jax-scan", "single", "seeds", "monitoring")


def unsupported(problem, name: str) -> str | None:
    """Why baseline ``name`` cannot run on ``problem``, or None where it can.

    ``numpy`` and ``torch`` write the loss again: the shipped losses of :data:`KINDS` and the
    custom losses of :mod:`bench.perf.twins`. The loops replay one start: not a custom loss's
    start drawn per seed. The baselines of :data:`ANY_LOSS` run the problem's own loss.

    Example:
        >>> p = gdjax.problems.make_linear(8, 2)
        >>> unsupported(p, "numpy") is None, unsupported(p, "jax-scan") is None
        (True, True)
    """
    custom = problem.kind == "custom"
    if name == "sklearn":
        # batch 1 is the entry's: bench.perf.attach checks sklearn_fits.applies with it
        ok = not custom and problem.spec.kind in ("linear", "logistic")
        return None if ok else "sklearn: scikit-learn's SGD fits linear and logistic models only"
    if name in ("numpy", "torch", "jax-loop") and problem.per_seed_start:
        return f"{name}: the loops replay one start, this problem draws one per seed"
    if name in ANY_LOSS:
        return None
    if custom and twins.twin(problem) is None:
        return f"{name}: this custom loss is not written for {name} (bench/perf/twins.py)"
    if not custom and problem.kind not in KINDS:
        return f"{name}: written for linear/logistic/softmax and bench/perf/twins.py losses"
    return None


def step_rows(n: int, b: int, epochs: int, shuffle: bool, seed: int) -> list[np.ndarray]:
    """Row indices of every step, from gdjax's own permutations (the same rows gdjax saw).

    Returns:
        One int array per epoch of shape (steps_per_epoch, b); empty list for batch GD.
    """
    if b == n:
        return []
    spe = gdjax.sampling.steps_per_epoch(n, b)
    out = []
    for e in range(epochs):
        order = gdjax.sampling.epoch_permutation(seed, e, n) if shuffle else np.arange(n)
        out.append(order[: spe * b].reshape(spe, b))
    return out


# ----- numpy ------------------------------------------------------------------------------------


def _np_grad(kind, spec, W, b, X, y):
    """Hand-written gradient of the mean loss (+ penalty) over rows X."""
    m = len(X)
    z = X @ W + b if spec.intercept else X @ W
    if kind == "linear":
        r = (2.0 / m) * (z - y)
    elif kind == "logistic":
        r = (1.0 / (1.0 + np.exp(-z)) - y) / m
    else:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        r = e / e.sum(axis=1, keepdims=True)
        r[np.arange(m), y] -= 1.0
        r /= m
    gW = X.T @ r
    if kind != "linear":
        gW += spec.l2 * W
    gb = r.sum(axis=0) if spec.intercept else 0.0
    return gW, gb


def numpy_loop(problem, lr, rows, epochs):
    """Plain SGD in NumPy, dtype of the data. Returns the final params dict."""
    if problem.kind == "custom":
        return twins.twin(problem)["numpy"](problem, lr, rows, epochs)
    kind = KINDS[problem.spec.kind]
    spec = problem.spec
    X = np.asarray(problem.X)
    y = np.asarray(problem.y)
    init = jax.tree.map(np.asarray, problem.init_params())
    W, b = init["w"].copy(), init.get("b", np.zeros((), X.dtype)).copy()
    lr = X.dtype.type(lr)
    if not rows:  # batch GD: every row every step
        for _ in range(epochs):
            gW, gb = _np_grad(kind, spec, W, b, X, y)
            W -= lr * gW
            b = b - lr * gb
    else:
        for epoch in rows:
            for idx in epoch:
                gW, gb = _np_grad(kind, spec, W, b, X[idx], y[idx])
                W -= lr * gW
                b = b - lr * gb
    return {"w": W, "b": b} if spec.intercept else {"w": W}


# ----- torch ------------------------------------------------------------------------------------


#: Why the torch baseline is skipped, and the cure: the run's one line and each lane's note.
TORCH_MISSING = "torch is not installed (pip install -e '.[torch]')"


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_loop(problem, lr, rows, epochs):
    """``torch.optim.SGD`` with autograd on the same rows. Returns the final params dict."""
    if problem.kind == "custom":
        return twins.twin(problem)["torch"](problem, lr, rows, epochs)
    import torch

    kind = KINDS[problem.spec.kind]
    spec = problem.spec
    X = torch.from_numpy(np.array(problem.X))
    y = torch.from_numpy(np.array(problem.y))
    if kind == "softmax":
        y = y.long()
    init = jax.tree.map(np.array, problem.init_params())
    W = torch.tensor(init["w"], requires_grad=True)
    params = [W]
    b = None
    if spec.intercept:
        b = torch.tensor(init["b"], requires_grad=True)
        params.append(b)
    opt = torch.optim.SGD(params, lr=lr)

    def loss_fn(Xb, yb):
        z = Xb @ W + b if b is not None else Xb @ W
        if kind == "linear":
            return torch.mean((z - yb) ** 2)
        if kind == "logistic":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yb)
        else:
            loss = torch.nn.functional.cross_entropy(z, yb)
        return loss + 0.5 * spec.l2 * torch.sum(W * W)

    def step(Xb, yb):
        opt.zero_grad(set_to_none=True)
        loss_fn(Xb, yb).backward()
        opt.step()

    if not rows:
        for _ in range(epochs):
            step(X, y)
    else:
        for epoch in rows:
            for idx in torch.from_numpy(np.array(epoch)):  # a writable copy
                step(X[idx], y[idx])
    out = {"w": W.detach().numpy()}
    if b is not None:
        out["b"] = b.detach().numpy()
    return out


# ----- jax-loop ---------------------------------------------------------------------------------


@jax.jit(static_argnums=0)
def _jax_step(spec, params, lr, data, idx):
    batch = data if idx is None else jax.tree.map(lambda a: a[idx], data)
    grads = jax.grad(spec.loss)(params, *batch)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def jax_loop(problem, lr, rows, epochs):
    """One jit-compiled SGD step called from Python per step, on any loss (its data
    ``problem.data``). Returns the final parameters."""
    spec, data = problem.spec, problem.data
    params = problem.init_params()
    lr = jnp.asarray(lr, problem.dtype)  # traced: one compile for every learning rate
    if not rows:
        for _ in range(epochs):
            params = _jax_step(spec, params, lr, data, None)
    else:
        for epoch in rows:
            for idx in epoch:  # host rows, as a Python loop over a data set has them
                params = _jax_step(spec, params, lr, data, idx)
    return jax.block_until_ready(params)


LOOPS = {
    "numpy": numpy_loop,
    "torch": torch_loop,
    "jax-loop": jax_loop,
    "sklearn": sklearn_fits.sklearn_loop,
}


def warm_up(name: str, problem, rows) -> None:
    """Pay a loop's one-time costs (imports, first autograd call, jit compiles) untimed.

    Two steps on the real rows (one epoch for batch GD) go through every code path of the
    timed run; without this the first timed lane carries up to a second of start-up.
    """
    LOOPS[name](problem, 1e-9, [rows[0][:2]] if rows else [], 1)
