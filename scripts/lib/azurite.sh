# shellcheck shell=bash
# shellcheck disable=SC2034 # AZURITE_* are read by the scripts that source this file
# Starting and stopping a local Azurite blob service from bash; sourced by scripts/demo and
# scripts/bench-export (not run on its own). Run from the repository root, after scripts/setup
# (it needs node_modules/.bin/azurite-blob and a Python, .venv/bin/python by default).
#
#   azurite_start LOG [PORT]   start Azurite in memory on 127.0.0.1:PORT, or on a free port
#                              (trying another one if a free port is taken meanwhile), in the
#                              background, output to LOG; returns once it answers. Sets
#                              AZURITE_PID, AZURITE_PORT and AZURITE_ENDPOINT (the path-style
#                              endpoint of the well-known account devstoreaccount1).
#   azurite_stop               stop it (no-op if none is running); safe in an EXIT trap.
#
# Options, as variables set before calling: AZURITE_PYTHON (default .venv/bin/python),
# AZURITE_TAG (prefix of the lines printed, default "azurite"), AZURITE_QUIET=1 (print nothing
# but errors), AZURITE_EXTRA_ARGS (an array of further azurite-blob arguments).

AZURITE_PID=""
AZURITE_PORT=""
AZURITE_ENDPOINT=""

# Waits up to 30 s until the Azurite with process id $2 answers on port $1.
# Exit status: 0 ready, 2 the process died, 1 timed out.
_azurite_wait() {
    "${AZURITE_PYTHON:-.venv/bin/python}" - "$1" "$2" <<'PY'
import os, sys, time, urllib.error, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(2)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/devstoreaccount1?comp=list", timeout=2)
    except urllib.error.HTTPError as e:  # 403: unsigned request, as expected
        if e.headers.get("Server", "").startswith("Azurite-Blob/"):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
PY
}

_azurite_say() {
    [ "${AZURITE_QUIET:-}" = 1 ] || printf '%s: %s\n' "${AZURITE_TAG:-azurite}" "$*"
}

azurite_start() {
    local log="$1" wanted="${2:-}" attempt candidate status
    local python="${AZURITE_PYTHON:-.venv/bin/python}"
    local -a cmd
    for attempt in 1 2 3 4 5; do
        if [ -n "$wanted" ]; then
            candidate="$wanted"
        else
            candidate="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        fi
        # No --location: Azurite refuses it with --inMemoryPersistence and keeps nothing on disk.
        cmd=(node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$candidate"
            --inMemoryPersistence --disableTelemetry --skipApiVersionCheck --silent
            ${AZURITE_EXTRA_ARGS[@]+"${AZURITE_EXTRA_ARGS[@]}"})
        [ "${AZURITE_QUIET:-}" = 1 ] || printf '+ %s >%s 2>&1 &\n' "${cmd[*]}" "$log"
        "${cmd[@]}" >"$log" 2>&1 &
        AZURITE_PID=$!
        status=0
        _azurite_wait "$candidate" "$AZURITE_PID" || status=$?
        if [ "$status" -eq 0 ]; then
            AZURITE_PORT="$candidate"
            AZURITE_ENDPOINT="http://127.0.0.1:$candidate/devstoreaccount1"
            _azurite_say "Azurite $(node_modules/.bin/azurite-blob --version) is listening at $AZURITE_ENDPOINT (pid $AZURITE_PID)"
            return 0
        fi
        if [ "$status" -eq 2 ] && grep -q EADDRINUSE "$log"; then
            wait "$AZURITE_PID" 2>/dev/null || true
            AZURITE_PID=""
            _azurite_say "port $candidate was taken, trying again (attempt $attempt)"
            # A given port may be free again in a moment (a previous Azurite closing).
            [ -z "$wanted" ] || sleep 0.5
            continue
        fi
        echo "${AZURITE_TAG:-azurite}: Azurite did not start; its output ($log):" >&2
        cat "$log" >&2
        azurite_stop
        return 1
    done
    echo "${AZURITE_TAG:-azurite}: Azurite could not bind ${wanted:+port $wanted}${wanted:-a free port}; see $log" >&2
    return 1
}

azurite_stop() {
    if [ -n "${AZURITE_PID:-}" ]; then
        kill "$AZURITE_PID" 2>/dev/null || true
        wait "$AZURITE_PID" 2>/dev/null || true
        AZURITE_PID=""
        _azurite_say "stopped Azurite"
    fi
}
