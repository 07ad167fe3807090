#!/bin/bash
# The one device check (run on the GPU machine from the repository root, after
# bench/device/prepare.sh here, carrying .gpu):   ./.gpu/gpu_check.sh
# 1. The GPU study (studies/fashion-mnist-cnn-gpu.yaml) with --trials 30 and its retrain, under
#    KERAS_BACKEND=jax with --workers ${WORKERS:-auto}, tracking off (no MLflow there): wall
#    time, GPU utilisation sampled every second by nvidia-smi (its mean while the workers ran
#    the trials, and over the whole command), the compilation cache's figures, the test accuracy.
# 2. The trainer bench (bench/trainer_speed.py) on 50,000 images: the trainer against a
#    hand-written model.fit of the same recipe, and the bare fit with 10 train steps a device
#    call (a scan over 10 batches; 390 steps an epoch at batch 128): whether Python's dispatch
#    of each small step is what leaves the GPU idle.
# Each part has its own time limit, so one that overruns still leaves the other's figures.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
PY=${PY:-python3}
TRIALS=${TRIALS:-30}; WORKERS=${WORKERS:-auto}
SEARCH_LIMIT=${SEARCH_LIMIT:-360}; BENCH_LIMIT=${BENCH_LIMIT:-170}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
nproc
$PY -m pip install -q --no-index --no-deps .gpu/wheels/*.whl 2>&1 | grep -v -i warning | tail -3
export KERAS_BACKEND=jax PYTHONPATH=$PWD FASHION_MNIST_DIR=$PWD/.gpu/data
$PY -c "import jax, keras, optuna; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'optuna', optuna.__version__)"

nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits \
  -lms 1000 > "$OUT/gpu.csv" &
smi=$!
start=$(date +%s)
timeout "$SEARCH_LIMIT" $PY -m search.run --study fashion-mnist-cnn-gpu --trials "$TRIALS" \
  --workers "$WORKERS" --tracking none --data-dir .gpu/data > "$OUT/search.log" 2>&1
rc=$?
echo "search.run exit $rc after $(( $(date +%s) - start )) s (limit $SEARCH_LIMIT s)"
kill $smi
grep -v "^\[w" "$OUT/search.log" | grep -E "starting|trials finished|best trial|retrain|test accuracy|compilation cache|done in|error|Error" | tail -25
grep -h "compilation cache" "$OUT/search.log" | tail -10
cp studies/fashion-mnist-cnn-gpu/best/metadata.json "$OUT/" 2>/dev/null
$PY - "$OUT/gpu.csv" "$OUT/search.log" <<'PY'
import re, sys
from datetime import datetime
samples = []
for line in open(sys.argv[1]):
    parts = [p.strip() for p in line.split(",")]
    if len(parts) == 3 and parts[1].isdigit():
        samples.append((datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f"), int(parts[1]), int(parts[2])))
log = open(sys.argv[2]).read()
def stamp(pattern):
    found = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ .*" + pattern, log, re.M)
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S") if found else None
begin, end = stamp("starting \\d+ workers"), stamp("search.study_run: best trial")
during = [u for t, u, _ in samples if begin and end and begin <= t <= end]
print(f"gpu samples {len(samples)}; mean utilisation over the command {sum(u for _, u, _ in samples) / max(1, len(samples)):.1f}%")
if during:
    print(f"mean utilisation while the workers ran the trials ({begin:%H:%M:%S}-{end:%H:%M:%S}, {len(during)} samples): {sum(during) / len(during):.1f}%")
print(f"peak memory used {max((m for *_, m in samples), default=0)} MiB")
PY

timeout "$BENCH_LIMIT" $PY bench/trainer_speed.py --skip-keras-layers --images 50000 \
  --validation 10000 --epochs 4 --repeats 1 --steps-per-dispatch 10 2>&1 | grep -v -i -E "warning|absl|tpu"
echo "bench exit ${PIPESTATUS[0]}"
