#!/usr/bin/env bash
# GPU smoke test and measurements, run as is on a machine with a CUDA GPU:  bash bench/gpu_smoke.sh
#
#   1. the generator: paper preset, batch 1 and 32, bf16, eager and torch.compile (bench/bench_generator.py)
#   2. meta-learning: paper preset, 50 steps (5 warm-up + 45 timed) on a synthetic set (bench/bench_train.py)
#   3. data parallel: 2 processes under torchrun, W's sparse gradient, NCCL (bench/dist_smoke.py); with one
#      GPU NCCL cannot give each process its own, so the same test runs under Gloo on the CPU (said so)
#
# Each part prints one table; their JSON goes to $OUT (default: a new temporary folder, printed at the end).
# Without a CUDA GPU it prints one line and exits 0, having measured nothing.  Exit status: the number of
# parts that failed.  PYTHON: the interpreter (default .venv/bin/python, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_smoke: no CUDA GPU here (torch.cuda.is_available() is False): nothing measured"
    exit 0
fi
OUT=${OUT:-$(mktemp -d -t fsth_gpu_smoke.XXXXXX)}
mkdir -p "$OUT"
GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())")
"$PY" -c "import torch; print('gpu_smoke:', torch.cuda.get_device_name(0), 'x', torch.cuda.device_count(), '| torch', torch.__version__, '| CUDA', torch.version.cuda)"
failed=0

echo; echo "== 1/3 generator: paper, batch 1 and 32, bf16, eager and torch.compile =="
"$PY" bench/bench_generator.py --devices cuda --presets paper --batches 1 32 --precisions bf16 --compile \
    --skip-table formats opt --json "$OUT/generator.json" || failed=$((failed + 1))

echo; echo "== 2/3 meta-learning: paper, 50 steps =="
"$PY" bench/bench_train.py --presets paper --steps 45 --warmup 5 --workers 2 --json "$OUT/train.json" \
    || failed=$((failed + 1))

echo; echo "== 3/3 data parallel: 2 processes, sparse W =="
DATA="$OUT/synth64"
"$PY" -m fsth_core synth "$DATA" --identities 32 --frames 8 --size 64 --no-progress >/dev/null || failed=$((failed + 1))
TORCHRUN=("$PY" -m torch.distributed.run --standalone --nproc_per_node 2)
if [ "$GPUS" -ge 2 ]; then
    "${TORCHRUN[@]}" bench/dist_smoke.py --data "$DATA" --steps 20 || failed=$((failed + 1))
else
    echo "1 GPU here: NCCL needs a GPU per process, so the same 2-process test runs under Gloo on the CPU"
    CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS=1 "${TORCHRUN[@]}" bench/dist_smoke.py --data "$DATA" --steps 20 \
        --device cpu || failed=$((failed + 1))
fi

echo; echo "gpu_smoke: $failed part(s) failed; JSON in $OUT"
exit "$failed"
