#!/usr/bin/env bash
# `make test-container`: builds the project's image with podman and checks it end to end.
# Installs podman & co when missing (Debian packages) → podman's configuration and state
# under a directory of its own → a Debian bookworm base image built with mmdebstrap (a
# stand-in for python:3.11-slim, whose registry need not be reachable) → `podman build` of
# this tree's Dockerfile on it → a run with a named volume and a port on 127.0.0.1 → the
# HTTP, workflow, healthcheck, volume-ownership and clean-stop checks → the container, the
# volume and the project image removed (the base is kept for the next run).
#
# Run as root (rootful podman, mmdebstrap --mode=root). Podman's setup and the base image are
# shared with tests/fresh.sh, in tests/podman.sh (its settings too). Optional settings:
#   HOST_PORT=18000              published on 127.0.0.1
#   KEEP_BUILD_CACHE=1           keep podman's intermediate build images (faster reruns)
# Nothing under /etc is written (apt-get installing the packages aside).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/podman.sh
. "$REPO/tests/podman.sh"
HOST_PORT=${HOST_PORT:-18000}
KEEP_BUILD_CACHE=${KEEP_BUILD_CACHE:-0}

WORK=$(mktemp -d)                  # what the checks download
IMAGE=localhost/bolservice:test
NAME=bolservice-test               # container name
VOLUME=bolservice-test             # named volume mounted at /data
APP_UID=10001                      # the Dockerfile's `useradd --uid`

# --format docker: the OCI image format has no HEALTHCHECK, podman would drop it.
build_image() {
    log "building $IMAGE"
    podman build --format docker --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" "$REPO"
}

# ---- checks ---------------------------------------------------------------------------
PASSED=0
FAILED=0
URL=http://127.0.0.1:$HOST_PORT

check() {  # check DESCRIPTION COMMAND...: run one check, count it, go on either way
    local what=$1
    shift
    if "$@"; then
        PASSED=$((PASSED + 1)); echo "ok   $what"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $what"
    fi
}

http_status() {  # http_status PATH [curl args...]
    local path=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' "$@" "$URL$path"
}

wait_for() {  # wait_for SECONDS COMMAND...: retry every 0.25 s until it succeeds
    local deadline
    deadline=$(awk -v t="$(now)" -v s="$1" 'BEGIN { printf "%.3f", t + s }')  # not %g: 1.8e+09
    shift
    until "$@" >/dev/null 2>&1; do
        awk -v t="$(now)" -v d="$deadline" 'BEGIN { exit !(t < d) }' || return 1
        sleep 0.25
    done
}

ping_ok() { [ "$(http_status /ping)" = 200 ]; }

health_healthy() {
    curl -sf "$URL/health" | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["status"] != "healthy")'
}

workflow_csv_matches() {
    local out=$WORK/workflow-out.csv
    rm -f "$out"
    BOLSERVICE_URL=$URL OUT=$out bash "$REPO/examples/workflow.sh" >/dev/null &&
        cmp -s "$out" "$REPO/examples/sample_bol.csv"
}

page_served() {
    local page=$WORK/index.html
    [ "$(curl -s -o "$page" -w '%{http_code}' -H 'Accept: text/html' "$URL/")" = 200 ] &&
        grep -qi '<!doctype html' "$page" && grep -q '/static/workflow.js' "$page"
}

script_served() { [ "$(http_status /static/workflow.js)" = 200 ]; }

healthcheck_passes() { podman healthcheck run "$NAME" >/dev/null; }

# We are root and podman runs without a user namespace, so the host's uid is the container's.
volume_owned_by_app() {
    local mp
    mp=$(podman volume inspect --format '{{.Mountpoint}}' "$VOLUME") &&
        [ "$(stat -c %u "$mp")" = "$APP_UID" ] &&
        [ -n "$(find "$mp" -mindepth 1 -print -quit)" ] &&  # the workflow wrote something
        [ -z "$(find "$mp" ! -uid "$APP_UID" -print -quit)" ]
}

STOP_SECONDS=
stops_cleanly() {
    local t0
    t0=$(now)
    pm stop -t 10 "$NAME" >/dev/null || return 1
    STOP_SECONDS=$(since "$t0")
    awk -v s="$STOP_SECONDS" 'BEGIN { exit !(s < 10) }' &&
        [ "$(podman inspect --format '{{.State.ExitCode}}' "$NAME")" = 0 ]
}

# ---- run ------------------------------------------------------------------------------
cleanup() {
    local rc=$?
    if [ "$rc" != 0 ] || [ "$FAILED" != 0 ]; then
        log "last lines of the container's log"
        podman logs --tail 40 "$NAME" 2>&1 || true
    fi
    pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
    podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
    podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
    # The build stage's image is left dangling by the build; the base has a tag, so it stays.
    [ "$KEEP_BUILD_CACHE" = 1 ] || podman image prune -f >/dev/null 2>&1 || true
    release_network
    rm -rf "$WORK"
    exit "$rc"
}

main() {
    require_root
    local t_all t
    t_all=$(now)
    install_packages curl
    write_podman_config
    note_network
    trap cleanup EXIT
    trap 'exit 130' INT TERM  # so that an interrupted run cleans up too
    pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true  # leftovers of an interrupted run
    podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true

    t=$(now); build_base; local t_base; t_base=$(since "$t")
    t=$(now); build_image; local t_build; t_build=$(since "$t")
    local size
    size=$(podman image inspect --format '{{.Size}}' "$IMAGE")

    log "running $NAME on $URL"
    local t_start t_ping=- t_healthy=-
    t_start=$(now)
    pm run -d --name "$NAME" -p "127.0.0.1:$HOST_PORT:8000" -v "$VOLUME:/data" "$IMAGE" >/dev/null
    wait_for 60 ping_ok && t_ping=$(since "$t_start")
    # No systemd timer runs the HEALTHCHECK here: poll it by hand, which also sets the
    # container's health status to "healthy".
    wait_for 90 healthcheck_passes && t_healthy=$(since "$t_start")

    check "GET /ping answers 200" ping_ok
    check "GET /health says healthy" health_healthy
    check "examples/workflow.sh output equals examples/sample_bol.csv" workflow_csv_matches
    check "GET / (Accept: text/html) serves the page" page_served
    check "GET /static/workflow.js answers 200" script_served
    check "podman healthcheck run passes" healthcheck_passes
    check "files in volume $VOLUME belong to uid $APP_UID" volume_owned_by_app
    check "podman stop -t 10 ends it within 10 s with exit code 0" stops_cleanly

    log "timings: base ${t_base}s, image build ${t_build}s, start→/ping ${t_ping}s," \
        "start→healthy ${t_healthy}s, stop ${STOP_SECONDS:--}s, total $(since "$t_all")s"
    log "image size: $size bytes ($((size / 1000000)) MB)"
    echo "container checks: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}

main "$@"
