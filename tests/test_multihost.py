"""Hosts joined by jax.distributed: two local processes share one sweep's lanes."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

import gdjax

ROOT = Path(__file__).resolve().parents[1]
WORKER = """
import json, sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2,
                           process_id=int(sys.argv[2]))
import numpy as np, gdjax
assert jax.process_count() == 2 and len(jax.devices()) == 2 and len(jax.local_devices()) == 1
p = gdjax.problems.make_logistic(256, 4, seed=1)
res = gdjax.sweep(p, lrs=np.geomspace(0.01, 100.0, 8), seeds=[0, 1], batch_size=16, epochs=3,
                  sharding=gdjax.devices.lane_sharding())
print(json.dumps({"losses": np.nan_to_num(res.losses, nan=-1.0).tolist(),
                  "status": res.status.tolist()}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_share_the_lanes_and_both_get_the_whole_result():
    address = f"127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, address, str(i)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert results[0] == results[1]
    one = gdjax.sweep(
        gdjax.problems.make_logistic(256, 4, seed=1),
        lrs=np.geomspace(0.01, 100.0, 8),
        seeds=[0, 1],
        batch_size=16,
        epochs=3,
    )
    np.testing.assert_array_equal(results[0]["status"], one.status)
    np.testing.assert_allclose(
        results[0]["losses"], np.nan_to_num(one.losses, nan=-1.0), rtol=2e-6, atol=1e-7
    )
