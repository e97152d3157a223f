#!/usr/bin/env bash
# Debian packages the tests need, installed only when missing (idempotent; CI runs as root on Debian bookworm):
#   chromium - the browser the explorer's Playwright tests drive (executable_path=/usr/bin/chromium;
#              Playwright's own browser download is never used).
#   etcd-server - the consensus service (Raft) of the HA sequencer (`--ha etcd://...`); its tests start
#              their own etcd processes on free 127.0.0.1 ports (no etcd service is used or needed).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: apt-get not found; install ${missing[*]} yourself (the browser and etcd tests are skipped without them)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "setup-system: not root and no sudo; install ${missing[*]} yourself" >&2; exit 0; fi
fi
echo "setup-system: apt-get install ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
