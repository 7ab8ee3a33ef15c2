#!/usr/bin/env bash
# Idempotent machine + venv set-up for the BSol outcomes dashboard (Debian 12).
#
#   bash scripts/setup.sh             everything needed for the full test suite:
#                                     apt: chromium chromium-driver postgresql (+ python3-venv,
#                                     + nodejs npm if there is no node), .venv with
#                                     requirements.txt, node_modules (npm ci: the OpenID
#                                     provider the sign-in tests run)
#   bash scripts/setup.sh --app-only  only what running the app needs (.venv; apt only if
#                                     python3/venv is missing)
#
# Safe to re-run: apt is skipped when every package is already installed, and pip is skipped
# when .venv was built from the same requirements.txt (sha256 stamp in .venv/).
# Env: PYTHON=/path/to/python3.11+ to choose the interpreter for .venv (default: python3).
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

app_only=0
for arg in "$@"; do
    case "$arg" in
        --app-only) app_only=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
venv="$repo/.venv"
stamp="$venv/.requirements.sha256"
python=${PYTHON:-python3}
start=$SECONDS
log() { printf 'setup: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- apt packages
is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

want=()
if ! command -v "$python" >/dev/null 2>&1; then
    want+=(python3 python3-venv)
elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    want+=(python3-venv)   # Debian's python3 has no ensurepip without it
fi
if [ "$app_only" = 0 ]; then
    want+=(chromium chromium-driver postgresql)
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        log "need root (or sudo) to apt-get install: ${missing[*]}"
        exit 1
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_install() {
        "${sudo[@]}" apt-get update -qq </dev/null
        "${sudo[@]}" apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null
        log "apt done ($((SECONDS - start)) s)"
    }
    if [[ " ${missing[*]} " == *" python3"* ]]; then
        apt_install   # the venv below needs it first
    else
        # Only the test tools (Chromium, PostgreSQL, Node): they install while pip works (about 20 s
        # less on a fresh machine); waited for, and their failure fails the set-up, before the end.
        apt_install &
        apt_pid=$!
    fi
else
    log "apt packages present: ${want[*]:-none needed}"
fi

# ---------------------------------------------------------------- virtualenv
# Recreate the venv when it is missing or its interpreter no longer runs.
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        log "$python is older than 3.11; set PYTHON=/path/to/python3.11"
        exit 1
    fi
    log "creating .venv with $("$python" -V 2>&1)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    rm -f "$stamp"
fi

want_hash=$( (sha256sum requirements.txt; "$venv/bin/python" -VV) | sha256sum | cut -d' ' -f1)
have_hash=$(cat "$stamp" 2>/dev/null || true)
if [ "$want_hash" != "$have_hash" ]; then
    log "pip install -r requirements.txt"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
        -r requirements.txt </dev/null
    echo "$want_hash" >"$stamp"
    log "pip done ($((SECONDS - start)) s)"
else
    log ".venv up to date with requirements.txt"
fi

if [ -n "${apt_pid:-}" ]; then
    wait "$apt_pid" || { log "apt-get install failed"; exit 1; }
fi

# ---------------------------------------------------------------- node test tools (not for --app-only)
if [ "$app_only" = 0 ]; then
    node_stamp="$repo/node_modules/.package-lock.sha256"
    node_want=$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
    if [ "$node_want" != "$(cat "$node_stamp" 2>/dev/null || true)" ]; then
        log "npm ci (test tools: $(node --version))"
        npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null
        echo "$node_want" >"$node_stamp"
    else
        log "node_modules up to date with package-lock.json"
    fi
fi

log "ready in $((SECONDS - start)) s"
