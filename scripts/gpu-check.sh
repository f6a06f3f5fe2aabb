#!/usr/bin/env bash
# GPU check (≤ 8 minutes on one CUDA GPU): every pretraining config for a few steps under AMP
# (bf16 and fp16) with images/s per method as JSON lines, the CUDA-only tests, AutoAttack on a
# small model on CUDA vs the CPU (same robust set), and a DDP smoke on all visible GPUs.
# Exits non-zero on any failure.
#   bash scripts/gpu-check.sh          # on a machine with CUDA
#   bash scripts/gpu-check.sh --cpu    # the same code paths on the CPU (CI; about 2 minutes)
set -uo pipefail
cd "$(dirname "$0")/.."
mode=()
case "${1:-}" in
  --cpu) mode=(--cpu) ;;
  "") ;;
  *) echo "usage: bash scripts/gpu-check.sh [--cpu]" >&2; exit 2 ;;
esac
python="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d "${TMPDIR:-/tmp}/robustssl-gpu-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export PYTHONWARNINGS="ignore::UserWarning:lightning"
failed=()
start=$(date +%s)
check() {  # check NAME COMMAND...: run it, keep its JSON lines on stdout, its log in $work
  local name="$1"; shift
  local t0=$(date +%s)
  echo "== $name" >&2
  if "$@" 2> "$work/$name.log"; then
    echo "   ok ($(( $(date +%s) - t0 )) s)" >&2
  else
    echo "   FAILED ($(( $(date +%s) - t0 )) s); last lines of its log:" >&2
    tail -n 25 "$work/$name.log" >&2
    failed+=("$name")
  fi
}
check methods "$python" scripts/gpu_check.py methods "${mode[@]}" --work "$work/methods"
# The tests marked `cuda` (they skip themselves without CUDA, so --cpu only checks they collect).
check cuda-tests "$python" -m pytest -q -p no:cacheprovider -m cuda
check autoattack "$python" scripts/gpu_check.py autoattack "${mode[@]}" --work "$work/aa"
check ddp "$python" scripts/gpu_check.py ddp "${mode[@]}" --work "$work/ddp"
echo "gpu-check${mode[*]:+ ${mode[*]}}: $(( $(date +%s) - start )) s, ${#failed[@]} failed${failed[*]:+: ${failed[*]}}" >&2
[ ${#failed[@]} -eq 0 ]
