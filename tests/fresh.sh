#!/usr/bin/env bash
# `make test-fresh`: what a newcomer gets from `make test` on a bare machine. A fresh clone of
# this repository's HEAD commit (uncommitted changes are not tested) in a container of the
# Debian bookworm base `make test-container` builds (Python 3.11, nothing else of the
# project's): make and git installed with apt-get, then, as an unprivileged user, `git clone`
# and `make test`, which makes its venv and installs from PyPI over the network as the
# image build does. Nothing of the host's tree, venv or caches is mounted: only a bare
# repository holding the commit, read-only, to clone from.
#
# Run as root (rootful podman; tests/podman.sh sets podman up and builds the base when it
# is missing, installing podman & co first). Its settings apply; also:
#   FRESH_COMMIT=<rev>   test this commit rather than HEAD
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/podman.sh
. "$REPO/tests/podman.sh"

NAME=bolservice-fresh              # container name
NEWCOMER=newcomer                  # the unprivileged user who clones and runs make test
NEWCOMER_UID=1000
WORK=$(mktemp -d)                  # the bare repository the container clones from

# What runs in the container, as root until `runuser`. The environment is the image's
# (PATH, LANG) plus HOME and USER, as a login would set them.
# shellcheck disable=SC2016  # expanded by the container's shell
INSIDE='
set -eu
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make git
useradd --create-home --uid "$NEWCOMER_UID" "$NEWCOMER"
exec runuser -u "$NEWCOMER" -- env HOME="/home/$NEWCOMER" USER="$NEWCOMER" sh -euc "
    cd
    git clone -q file:///origin.git bolservice
    cd bolservice
    git log -1 --format=\"== testing %h %s\"
    python3 --version
    make test
"
'

cleanup() {
    local rc=$?
    pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
    release_network
    rm -rf "$WORK"
    exit "$rc"
}

main() {
    require_root
    local t_all t commit
    t_all=$(now)
    # -c safe.directory: under sudo, the clone may belong to someone else.
    commit=$(git -c safe.directory="$REPO" -C "$REPO" rev-parse --verify "${FRESH_COMMIT:-HEAD}^{commit}")
    if [ -n "$(git -c safe.directory="$REPO" -C "$REPO" status --porcelain --untracked-files=no)" ]; then
        log "the working tree has uncommitted changes: they are not tested, only ${commit:0:12}"
    fi
    install_packages
    write_podman_config
    note_network
    trap cleanup EXIT
    trap 'exit 130' INT TERM  # so that an interrupted run cleans up too
    pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true  # leftovers of an interrupted run

    # The commit alone, as the default branch of a bare repository the newcomer owns (git
    # refuses to clone from a repository that belongs to another user).
    git init -q --bare "$WORK/origin.git"
    git -c safe.directory="$REPO" -C "$REPO" push -q "$WORK/origin.git" "$commit:refs/heads/main"
    git -C "$WORK/origin.git" symbolic-ref HEAD refs/heads/main
    chown -R "$NEWCOMER_UID:$NEWCOMER_UID" "$WORK/origin.git"

    t=$(now); build_base; local t_base; t_base=$(since "$t")

    log "make test in a fresh clone of ${commit:0:12}, in $BASE_IMAGE"
    t=$(now)
    local rc=0
    pm run --rm --name "$NAME" \
        -v "$WORK/origin.git:/origin.git:ro" \
        -e NEWCOMER="$NEWCOMER" -e NEWCOMER_UID="$NEWCOMER_UID" \
        "$BASE_IMAGE" sh -c "$INSIDE" || rc=$?
    log "timings: base ${t_base}s, container (apt-get, clone, make test) $(since "$t")s," \
        "total $(since "$t_all")s"
    [ "$rc" = 0 ] && log "make test passed in a fresh clone of ${commit:0:12}" ||
        log "make test FAILED in a fresh clone of ${commit:0:12} (exit status $rc)"
    return "$rc"
}

main "$@"
