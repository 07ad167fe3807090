#!/bin/bash
# Run on the device machine from the repository root, after bench/device/prepare.sh:
#   ./.gpu/search_check.sh   (with carry [".gpu"]); TRIALS, SUBSET, EPOCHS, RETRAIN override.
# One device check: the GPU study (studies/fashion-mnist-cnn-gpu.yaml: the whole space, all
# 50,000 training images a trial) under KERAS_BACKEND=jax, tracking off (no MLflow there),
# with the process's resident memory sampled every 2 s.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
TRIALS=${TRIALS:-12}; SUBSET=${SUBSET:-}; RETRAIN=${RETRAIN:-20}; EPOCHS=${EPOCHS:-6}
PY=${PY:-python3}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
$PY --version
$PY -m pip install -q --no-index --no-deps .gpu/wheels/*.whl 2>&1 | grep -v -i warning | tail -3
export KERAS_BACKEND=jax PYTHONPATH=$PWD
$PY -c "import jax, keras, optuna, sklearn; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'optuna', optuna.__version__)"
start=$(date +%s)
$PY -m search.run --study fashion-mnist-cnn-gpu --trials "$TRIALS" --epochs "$EPOCHS" \
  ${SUBSET:+--subset "$SUBSET"} --retrain-epochs "$RETRAIN" --tracking none \
  --data-dir .gpu/data > "$OUT/search.log" 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do
  echo "$(date +%H:%M:%S) $(grep VmRSS /proc/$pid/status 2>/dev/null | awk '{print $2}')"; sleep 2
done > "$OUT/rss.log"
wait $pid; rc=$?
echo "search.run exit $rc after $(( $(date +%s) - start )) s"
grep -E "finished|best|retrain|test|exported|ERROR|Error" "$OUT/search.log" | tail -40
ls studies/fashion-mnist-cnn-gpu studies/fashion-mnist-cnn-gpu/best 2>/dev/null | head -20
cp studies/fashion-mnist-cnn-gpu/best/metadata.json "$OUT/" 2>/dev/null
awk 'NR==1{f=$2} {l=$2; if ($2>m) m=$2} END{print "rss first", f/1024, "MB, last", l/1024, "MB, max", m/1024, "MB"}' "$OUT/rss.log"
