#!/usr/bin/env bash
# Set up (idempotent), build the sample project from corpora_samples/, open the app on it.
#   bash scripts/app.sh [extra streamlit options, e.g. --server.port 8600]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
qual-nlp demo demo/sample.qnlp
exec python -m streamlit run streamlit_app.py --browser.gatherUsageStats false "$@" -- demo/sample.qnlp
