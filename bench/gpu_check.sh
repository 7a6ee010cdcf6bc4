#!/usr/bin/env bash
# The first GPU run of gdjax, ready to go: run it as is on a machine with an NVIDIA GPU.
#
#   bash bench/gpu_check.sh                  # run folders and comparisons under ./gpu-check
#
# It makes a fresh virtual environment (.venv-gpu), installs gdjax with the CUDA build of JAX
# (pip install -U "jax[cuda12]"), checks that JAX sees the GPU, then runs the default and perf
# suites twice, with --precision highest (full float32, what every CPU run computes) and with
# --precision default (the GPU's own: TF32 matrix products on A100/H100/H200), and compares each
# with the committed CPU run of the same suite (results/runs) with `bench compare`: speed, and
# whether every lane reached the same status and steps to target (a disagreement names the
# precision as its first suspect). Nothing is written into results/ unless GDJAX_GPU_CHECK_OUT
# says so; to publish, rerun the suites with `--publish` once the check looks right.
#
# Time: about 9 minutes on one GPU, install apart: an estimate from this suite's CPU runs and
# assumed GPU costs per compile and per step (README.md, "Measured times"), not a measurement (no
# GPU run of gdjax exists yet). Each stage prints its elapsed time.
#
# Environment (all optional):
#   GDJAX_GPU_CHECK_OUT      where the run folders and comparisons go (default: gpu-check)
#   GDJAX_GPU_CHECK_VENV     the virtual environment to make (default: .venv-gpu)
#   GDJAX_GPU_CHECK_REPEATS  timed repeats per kernel (default 3: the suites' 5 would not fit)
#   GDJAX_GPU_CHECK_ONLY_DEFAULT, GDJAX_GPU_CHECK_ONLY_PERF
#                            --only patterns of the two suites (default: every entry)
#   GDJAX_GPU_CHECK_DRY=1    a dry run on any machine: no install, no GPU needed, the Python in
#                            $PYTHON (default python3), and one entry of each suite unless the
#                            --only patterns say otherwise (what tests/bench/test_gpu_check.py runs)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${GDJAX_GPU_CHECK_OUT:-gpu-check}
VENV=${GDJAX_GPU_CHECK_VENV:-.venv-gpu}
REPEATS=${GDJAX_GPU_CHECK_REPEATS:-3}
DRY=${GDJAX_GPU_CHECK_DRY:-0}
START=$SECONDS

stage() { echo "== [$((SECONDS - START)) s] $*"; }

if [ "$DRY" = "1" ]; then
    PY=${PYTHON:-python3}
    ONLY_DEFAULT=${GDJAX_GPU_CHECK_ONLY_DEFAULT-linear-2048x32-cond1e2__batch}
    ONLY_PERF=${GDJAX_GPU_CHECK_ONLY_PERF-sgd__stochastic}
    stage "dry run: no install, $($PY -c 'import jax; print(jax.default_backend())') backend"
else
    ONLY_DEFAULT=${GDJAX_GPU_CHECK_ONLY_DEFAULT-}
    ONLY_PERF=${GDJAX_GPU_CHECK_ONLY_PERF-}
    if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L; then
        echo "error: no NVIDIA GPU found (nvidia-smi); GDJAX_GPU_CHECK_DRY=1 runs the check on CPU" >&2
        exit 2
    fi
    stage "installing gdjax and jax[cuda12] into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[bench]"
    "$VENV/bin/python" -m pip install --quiet -U "jax[cuda12]"
    PY=$VENV/bin/python
    if [ "$($PY -c 'import jax; print(jax.default_backend())')" != "gpu" ]; then
        echo "error: JAX does not see the GPU after installing jax[cuda12]; see $PY -m bench env" >&2
        exit 1
    fi
fi

mkdir -p "$OUT"
# a cache of its own: compile times are the GPU's, not read from an earlier run's
CACHE="$OUT/xla-cache"
$PY -m bench env >"$OUT/env.json"
stage "environment written to $OUT/env.json"

for precision in highest default; do
    for suite in default perf; do
        only=$ONLY_DEFAULT
        [ "$suite" = perf ] && only=$ONLY_PERF
        stage "bench run --suite $suite --precision $precision ${only:+--only $only}"
        $PY -m bench run --suite "$suite" --precision "$precision" --repeats "$REPEATS" \
            --out "$OUT/$precision" --cache-dir "$CACHE" --no-progress ${only:+--only "$only"}
    done
done

for suite in default perf; do
    cpu=$(ls -d results/runs/"$suite"__cpu-* 2>/dev/null | tail -n 1 || true)
    gpu=("$OUT"/highest/"$suite"__* "$OUT"/default/"$suite"__*)
    report="$OUT/compare-$suite.md"
    stage "bench compare ${cpu:-(no committed CPU run)} ${gpu[*]} > $report"
    $PY -m bench compare $cpu "${gpu[@]}" >"$report"
    grep -E "^(agreement|  first suspect|  no precision)" "$report" || true
done
stage "done: run folders in $OUT/highest and $OUT/default, comparisons in $OUT/compare-*.md"
