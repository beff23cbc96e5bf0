#!/usr/bin/env bash
# Install Debian's Chromium and chromedriver for the browser tests (idempotent).
# Nothing happens when /usr/bin/chromium is already there; otherwise apt-get
# installs the distribution packages (run as root, or with sudo available).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "scripts/browser.sh: /usr/bin/chromium is missing and this user cannot install it;" >&2
    echo "the browser tests will be skipped. As root: apt-get install chromium chromium-driver" >&2
    exit 0
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
