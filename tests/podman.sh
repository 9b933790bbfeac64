# Sourced by tests/container.sh and tests/fresh.sh: rootful podman with all of its
# configuration and state under a directory of its own, and the Debian bookworm base image
# both run on. Podman & co are installed when missing (Debian packages); nothing under /etc
# is written (apt-get installing the packages aside).
#
# Settings (environment):
#   BOLSERVICE_CONTAINER_STATE   podman's configuration and storage, the base image with it
#                                (default ~/.cache/bolservice-container, outside the clone)
#   SUBNET_PREFIX=10.89.117      the private bridge network's /24 (container side only)
#   REBUILD_BASE=1               build the base again even if it exists
# shellcheck shell=bash

STATE=${BOLSERVICE_CONTAINER_STATE:-$HOME/.cache/bolservice-container}
SUBNET_PREFIX=${SUBNET_PREFIX:-10.89.117}
REBUILD_BASE=${REBUILD_BASE:-0}

BASE_IMAGE=localhost/bolservice-base:bookworm
BRIDGE=cni-bolsvc0                 # our own bridge, so a system podman's cni-podman0 is untouched

PODMAN_PACKAGES=(podman runc containernetworking-plugins iptables mmdebstrap ca-certificates)

log() { printf '== %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

require_root() {
    [ "$(id -u)" = 0 ] || { echo "run as root (rootful podman, mmdebstrap --mode=root)" >&2; exit 2; }
}

# Podman logs "unable to get systemd connection" on every run/stop/rm: its healthcheck timers
# are systemd transient units and there is no systemd here. Harmless; `podman healthcheck run`
# still works. Filter just that line so real errors stay visible.
pm() { podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

install_packages() {  # install_packages [MORE_PACKAGES...]: podman & co and these, when missing
    local missing=() p
    for p in "${PODMAN_PACKAGES[@]}" "$@"; do
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

# The CNI bridge plugin turns IP forwarding on and makes our bridge; note how forwarding was,
# so that release_network can put it back.
ORIG_IP_FORWARD=
note_network() { ORIG_IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward); }

# Kernel state the CNI bridge plugin changed: our bridge and, if it was off, forwarding. Left
# alone while another of our containers (the other script's) still runs on the bridge.
release_network() {
    [ -z "$(podman ps -q 2>/dev/null)" ] || return 0
    ip link delete "$BRIDGE" 2>/dev/null || true
    if [ "$ORIG_IP_FORWARD" = 0 ]; then echo 0 > /proc/sys/net/ipv4/ip_forward; fi
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
