"""pytest-benchmark micro-benchmarks of the compiled kernels (steady state, compile excluded).

Run with ``pytest tests/benchmarks --benchmark-only``; the default test run skips them. Sizes are
a quarter of the perf suite's so a 2-core machine gets through in under a minute; every record
carries backend, device and shape in ``extra_info``.
"""

import jax
import numpy as np
import pytest

import gdjax

WORKLOADS = {
    # name: (problem maker, batch size, epochs)
    "minibatch": (lambda: gdjax.problems.make_linear(2048, 32), 32, 5),
    "sgd": (lambda: gdjax.problems.make_linear(1024, 16), 1, 2),
    "fullbatch": (lambda: gdjax.problems.make_linear(16384, 64), None, 25),
    "logistic-minibatch": (lambda: gdjax.problems.make_logistic(2048, 32), 64, 5),
}


@pytest.mark.parametrize("lanes", [1, 64])
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_kernel(benchmark, name, lanes):
    make, batch_size, epochs = WORKLOADS[name]
    problem = make()
    kernel = gdjax.build(
        problem,
        lrs=np.geomspace(1e-3, 0.1, lanes),
        batch_size=batch_size,
        epochs=epochs,
        early_stop=False,
        eval_every=problem.n // (batch_size or problem.n),
    )
    compiled = kernel.lower().compile()
    kernel.execute(compiled)  # warm-up
    benchmark.extra_info.update(
        backend=jax.default_backend(),
        device_kind=jax.devices()[0].device_kind,
        device_count=jax.device_count(),
        n=problem.n,
        d=problem.d,
        batch_size=batch_size or problem.n,
        epochs=epochs,
        lanes=lanes,
        steps=kernel.config.total_steps,
        jax_version=jax.__version__,
    )
    out = benchmark(lambda: kernel.execute(compiled))
    assert int(out.steps_run) == kernel.config.total_steps
