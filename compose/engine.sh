#!/bin/sh
# engine.sh: a Docker engine for the compose deployment on a machine where none is running and no
# service manager starts one (containers, CI runners, sandboxes): installs Debian's docker.io when
# dockerd is missing (scripts/deps.sh --containers), then starts dockerd by hand, detached (its own
# session, no terminal, its output in LOG), and waits until it answers. Where the default storage
# driver (overlay2) cannot mount, it starts again with vfs (slower, always works).
#
#   engine.sh [LOG]        exit 0: an engine answers (already, or started now; "started PID" on
#                          stdout); exit 3: no engine can run here (the reason on stderr)
#
# Needs root to install or start anything. The engine it starts keeps running (stop it with
# `kill PID`); images and volumes live in /var/lib/docker.
set -eu
log=${1:-/var/log/opml-dockerd.log}
top=$(cd "$(dirname "$0")/.." && pwd)
cannot() { echo "engine: no Docker engine can run here: $*" >&2; exit 3; }

docker info >/dev/null 2>&1 && exit 0
[ "$(id -u)" = 0 ] || cannot "none answers and only root can start one"
if ! command -v dockerd >/dev/null; then
    bash "$top/scripts/deps.sh" --containers >&2 || cannot "docker.io could not be installed (bash scripts/deps.sh --containers)"
fi
command -v docker >/dev/null || cannot "no docker client"

# DRIVER_FLAGS: start dockerd, wait up to 30 s for it to answer. 0: it answers; 1: it exited.
start() {
    # shellcheck disable=SC2086 # the flags are separate words
    setsid dockerd $1 </dev/null >>"$log" 2>&1 &
    pid=$!
    i=0
    while ! docker info >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || return 1
        i=$((i + 1))
        [ "$i" -lt 300 ] || { kill "$pid"; cannot "dockerd did not answer within 30 s; see $log"; }
        sleep 0.1
    done
    echo "started $pid"
}
: >"$log"
start "" && exit 0
echo "engine: dockerd exited with the default storage driver; trying vfs" >&2
tail -n 5 "$log" >&2
start "--storage-driver vfs" && exit 0
tail -n 20 "$log" >&2
cannot "dockerd exits at start (log: $log)"
