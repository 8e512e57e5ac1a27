#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests marked @pytest.mark.browser).
# Idempotent and quiet: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: no apt-get here: install chromium at /usr/bin/chromium by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: not root and no sudo: cannot install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >"$log" 2>&1; then
    echo "install_browser.sh: installing chromium failed:" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
[ -x /usr/bin/chromium ] || { echo "install_browser.sh: /usr/bin/chromium still missing" >&2; exit 1; }
