#!/usr/bin/env bash
# Create .venv (if absent), install the pinned dev/CI stack plus robustssl (editable, all extras and
# the test references), then get Fashion-MNIST (Debian's package or a download; see
# `robustssl datasets fetch --help`). Usage: bash scripts/dev-install.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q -r requirements-dev.txt
# torchattacks pins an old `requests`; it needs only torch/torchvision/numpy/scipy/tqdm, all pinned above.
"${pip[@]}" install -q --no-deps torchattacks==3.5.1
"${pip[@]}" install -q -e ".[test]"
echo "robustssl installed in $venv"
# The quickstart fetches it too; a machine with neither apt nor network still gets a working install.
"$venv/bin/robustssl" datasets fetch fashion_mnist \
  || echo "note: Fashion-MNIST is not here yet; the message above says how to get it" >&2
