#!/usr/bin/env bash
# Set up (idempotent) and run every check: ruff, mypy and the whole test suite,
# including the real embedding model and the app in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ -f scripts/browser.sh ]; then
  bash scripts/browser.sh
fi

ruff check .
ruff format --check qual_nlp
mypy qual_nlp
lint-imports --no-cache --no-logo
python -m pytest "$@"
