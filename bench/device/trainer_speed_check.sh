#!/bin/bash
# Run on the device machine from the repository root, after bench/device/prepare.sh:
#   ./.gpu/trainer_speed_check.sh --images 50000 --validation 10000 --epochs 4 --repeats 2
# The trainer speed bench under JAX on the GPU (Keras's own augmentation layers skipped: under
# JAX they did not finish an epoch in 100 s, DESIGN.md).
set -u
PY=${PY:-python3}
nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null
$PY -m pip install -q --no-index --no-deps .gpu/wheels/*.whl 2>&1 | grep -v -i warning | tail -3
export KERAS_BACKEND=jax PYTHONPATH=$PWD FASHION_MNIST_DIR=$PWD/.gpu/data
$PY bench/trainer_speed.py --skip-keras-layers "$@" 2>&1 | grep -v -i -E "warning|absl"
