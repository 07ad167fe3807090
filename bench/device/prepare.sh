#!/bin/bash
# Prepares the ignored folder .gpu/ that a device check carries (`carry: [".gpu"]`): wheels for
# the GPU machine's Python 3.12 (it has JAX, NumPy, SciPy, pandas and PyYAML, no TensorFlow and
# no network) and the Fashion-MNIST files. About 54 MB, under the 64 MiB a call may carry.
set -eu
cd "$(dirname "$0")/../.."
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
mkdir -p .gpu/wheels .gpu/data
tmp=$(mktemp -d)
.venv/bin/pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  -d "$tmp" keras optuna scikit-learn cmaes
# What the machine has already (replacing them could break its JAX) stays behind.
rm -f "$tmp"/numpy-* "$tmp"/scipy-* "$tmp"/pyyaml-* "$tmp"/ml_dtypes-* "$tmp"/packaging-* \
  "$tmp"/typing_extensions-*
mv "$tmp"/*.whl .gpu/wheels/
cp bench/device/*.sh .gpu/
data=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
cp "$data"/*-ubyte.gz .gpu/data/
du -sh .gpu
