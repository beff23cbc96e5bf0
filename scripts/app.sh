#!/usr/bin/env bash
# Set up (idempotent), build the sample project from corpora_samples/, open the app on it.
#   bash scripts/app.sh [extra streamlit options, e.g. --server.port 8600]
# Each step says what it does: the first run installs packages and trains the sample
# model, which takes minutes; later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { local n=$1; shift; printf '\n[%s/3] %s\n' "$n" "$*"; }
done_in() { printf '      done (%ss so far)\n' "$((SECONDS - started))"; }

if [ -f .venv/.qual_nlp-setup ]; then
  step 1 "Checking the Python environment in .venv (already set up: a few seconds)…"
else
  step 1 "Setting up the Python environment in .venv: installing qual_nlp and its packages" \
    "(the first time only; several minutes, quietly)…"
fi
bash scripts/setup.sh
done_in
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ -f demo/sample.qnlp ]; then
  step 2 "Bringing the sample project demo/sample.qnlp up to date (seconds unless the samples changed)…"
else
  step 2 "Building the sample project demo/sample.qnlp from corpora_samples/: importing the" \
    "transcripts, loading the sample coders' work, training the model and suggesting codes" \
    "(a few minutes the first time)…"
fi
qual-nlp demo demo/sample.qnlp
done_in

step 3 "Opening the app on the sample project (stop it with Ctrl+C). It listens on this" \
  "computer only; the address to open is printed below."
exec python -m streamlit run streamlit_app.py --browser.gatherUsageStats false "$@" -- demo/sample.qnlp
