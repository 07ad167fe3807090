#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine: the real Fashion-MNIST, PostgreSQL and Chromium
# (for the tests), and a virtual environment in .venv with the project and its dev tools.
# Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

packages=(dataset-fashion-mnist postgresql chromium)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
echo "setup: installing the project and its dependencies into .venv (a few minutes the first time)"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
echo "setup: done"
