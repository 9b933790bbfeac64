#!/usr/bin/env bash
# `make test-container`: builds the project's image with podman and checks it end to end.
# Installs podman & co when missing (Debian packages) → podman's configuration and state
# under a directory of its own → a Debian bookworm base image built with mmdebstrap (a
# stand-in for python:3.11-slim, whose registry need not be reachable) → `podman build` of
# this tree's Dockerfile on it → a run with a named volume and a port on 127.0.0.1 → the
# HTTP, workflow, healthcheck, volume-ownership and clean-stop checks → the container, the
# volume and the project image removed (the base is kept for the next run).
#
# Run as root (rootful podman, mmdebstrap --mode=root). Optional settings:
#   BOLSERVICE_CONTAINER_STATE   podman's configuration and storage, the base image with it
#                                (default ~/.cache/bolservice-container, outside the clone)
#   HOST_PORT=18000              published on 127.0.0.1
#   SUBNET_PREFIX=10.89.117      the private bridge network's /24 (container side only)
#   REBUILD_BASE=1               build the base again even if it exists
#   KEEP_BUILD_CACHE=1           keep podman's intermediate build images (faster reruns)
# Nothing under /etc is written (apt-get installing the packages aside).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${BOLSERVICE_CONTAINER_STATE:-$HOME/.cache/bolservice-container}
HOST_PORT=${HOST_PORT:-18000}
SUBNET_PREFIX=${SUBNET_PREFIX:-10.89.117}
REBUILD_BASE=${REBUILD_BASE:-0}
KEEP_BUILD_CACHE=${KEEP_BUILD_CACHE:-0}

WORK=$(mktemp -d)                  # what the checks download
BASE_IMAGE=localhost/bolservice-base:bookworm
IMAGE=localhost/bolservice:test
NAME=bolservice-test               # container name
VOLUME=bolservice-test             # named volume mounted at /data
BRIDGE=cni-bolsvc0                 # our own bridge, so a system podman's cni-podman0 is untouched
APP_UID=10001                      # the Dockerfile's `useradd --uid`

PACKAGES=(podman runc containernetworking-plugins iptables mmdebstrap curl ca-certificates)

log() { printf '== %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Podman logs "unable to get systemd connection" on every run/stop/rm: its healthcheck timers
# are systemd transient units and there is no systemd here. Harmless; `podman healthcheck run`
# still works. Filter just that line so real errors stay visible.
pm() { podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]}"
    apt-get update -q
    # --no-install-recommends: rootful podman needs neither buildah, slirp4netns nor uidmap.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Largest value a container may get for a limit: runc sets the container's rlimits with
# prlimit(), and without CAP_SYS_RESOURCE (absent here) it may not raise a hard limit. Podman's
# default (1048576 for nofile and nproc) is refused, so use the host's hard limit instead.
# Podman also lowers its own RLIMIT_NPROC to kernel.pid_max, so nproc may not exceed that.
hard_limit() {  # hard_limit nofile|nproc
    local v
    case $1 in
        nofile) v=$(ulimit -Hn) ;;
        nproc)
            v=$(ulimit -Hu)
            local pid_max; pid_max=$(cat /proc/sys/kernel/pid_max)
            if [ "$v" = unlimited ] || [ "$v" -gt "$pid_max" ]; then v=$pid_max; fi ;;
    esac
    [ "$v" = unlimited ] && v=1048576
    echo "$v"
}

# All of podman's configuration and state under $STATE, selected through environment
# variables, so /etc/containers, /var/lib/containers and /run/libpod stay as they are.
write_podman_config() {
    mkdir -p "$STATE"/{storage,run,tmp,cni,cni-ipam}
    local nofile nproc
    nofile=$(hard_limit nofile)
    nproc=$(hard_limit nproc)

    cat > "$STATE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$STATE/storage"
runroot = "$STATE/run"
EOF

    # runc + cgroupfs: crun refuses this host's hybrid cgroup v1/v2 layout and there is no
    # systemd to be the cgroup manager. lock_type "file" keeps the locks in tmp_dir instead of
    # the shared /dev/shm/libpod_lock. default_ulimits: every run/exec/healthcheck gets them
    # without --ulimit flags (the build's RUN steps get them too, harmlessly).
    cat > "$STATE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[network]
network_backend = "cni"
network_config_dir = "$STATE/cni"
cni_plugin_dirs = ["/usr/lib/cni"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$STATE/tmp/events.log"
tmp_dir = "$STATE/tmp"
static_dir = "$STATE/storage/libpod"
volume_path = "$STATE/storage/volumes"
image_copy_tmp_dir = "$STATE/tmp"
lock_type = "file"
EOF

    # Only fully qualified names: nothing may resolve "python" to docker.io by accident.
    cat > "$STATE/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "enforcing"
EOF

    # The default network "podman", defined here rather than in memory so that the bridge has
    # a name of its own and host-local keeps its IP leases in $STATE (default: /var/lib/cni).
    cat > "$STATE/cni/podman.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni-ipam",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "$SUBNET_PREFIX.0/24", "gateway": "$SUBNET_PREFIX.1" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" },
    { "type": "tuning" }
  ]
}
EOF

    export CONTAINERS_CONF=$STATE/containers.conf
    export CONTAINERS_STORAGE_CONF=$STATE/storage.conf
    export CONTAINERS_REGISTRIES_CONF=$STATE/registries.conf
    export TMPDIR=$STATE/tmp  # buildah and mmdebstrap temp files (default /var/tmp, /tmp)
}

# A stand-in for python:3.11-slim: Debian bookworm with python3.11 and a venv at /usr/local,
# so /usr/local/bin/python and pip exist, `pip install --prefix=/install` lays out
# lib/python3.11/site-packages as the Dockerfile's `COPY --from=build /install /usr/local`
# expects, and PEP 668 (Debian's EXTERNALLY-MANAGED) does not apply inside a venv.
# shellcheck disable=SC2016  # the hooks' "$1" (the new root) is expanded by mmdebstrap's sh
build_base() {
    if [ "$REBUILD_BASE" != 1 ] && podman image exists "$BASE_IMAGE"; then
        log "base image $BASE_IMAGE exists, reused"
        return
    fi
    log "building $BASE_IMAGE with mmdebstrap"
    local tar=$STATE/tmp/base.tar
    local hooks=()
    # A network that re-signs TLS: its CAs, if the host has any, go into the image's CA store
    # so that pip (Debian's pip reads /etc/ssl/certs) can reach PyPI during `podman build`.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        hooks+=(--customize-hook='cp -a /usr/local/share/ca-certificates/. "$1/usr/local/share/ca-certificates/" && chroot "$1" update-ca-certificates')
    fi
    # merged-usr hook: symlinks like debootstrap, instead of the usrmerge package and its perl.
    # force-unsafe-io: no fsync per file, it is a throwaway tree. The path-excludes drop man
    # pages, docs and translations (as the slim images do).
    mmdebstrap --mode=root --variant=minbase \
        --include=python3.11,python3.11-venv,ca-certificates,passwd \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --dpkgopt=force-unsafe-io \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        "${hooks[@]}" \
        --customize-hook='chroot "$1" python3.11 -m venv /usr/local' \
        bookworm "$tar" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
    # A tarball import has no config: give it the PATH and locale python:3.11-slim has.
    podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --message 'Debian bookworm, python3.11, venv at /usr/local' \
        "$tar" "$BASE_IMAGE" >/dev/null
    rm -f "$tar"
}

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
ORIG_IP_FORWARD=

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
    # Kernel state the CNI bridge plugin changed: our bridge and, if it was off, forwarding.
    ip link delete "$BRIDGE" 2>/dev/null || true
    if [ "$ORIG_IP_FORWARD" = 0 ]; then echo 0 > /proc/sys/net/ipv4/ip_forward; fi
    rm -rf "$WORK"
    exit "$rc"
}

main() {
    [ "$(id -u)" = 0 ] || { echo "run as root (rootful podman, mmdebstrap --mode=root)" >&2; exit 2; }
    local t_all t
    t_all=$(now)
    install_packages
    write_podman_config
    ORIG_IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
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
