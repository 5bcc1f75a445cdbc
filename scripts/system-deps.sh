#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's Chromium for the browser
# tests (Playwright drives /usr/bin/chromium; no browser is downloaded). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "installing Debian's chromium for the browser tests" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null
