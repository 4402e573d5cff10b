#!/bin/bash
# The container image and compose.yaml, end to end, on a Docker engine of
# the test's own: makes a Debian 12 base image with debootstrap (no registry
# is needed), builds the image with `docker-compose build` (BuildKit), brings the stack
# up with four workers, and runs tests/docker/compose_check.py against it
# (containment in a dockerised worker; 40 jobs spread over the workers; a
# worker killed mid-job loses nothing); then takes it all down.
#
#   sudo tests/docker/compose_test.sh
#
# Needs root and Debian's docker.io, docker-compose and debootstrap
# (packaging/install-deps.sh installs them), and the Debian mirror for
# debootstrap and the image's apt (DEBIAN_MIRROR names another).
#
# The engine is started here, beside any other on the host and sharing
# nothing with it: its own socket, data root, exec root, pid file, containerd
# namespace and cgroup parent, no default bridge, and no iptables, NAT or
# IP forwarding changes. Its containers publish only on 127.0.0.1, on a port
# Docker picks. Everything is removed at the end, also on failure: the
# containers, the engine (stopped by its pid), its mounts, cgroups and
# bridge, and the data root with every image in it. EXECD_DOCKER_CACHE=DIR
# keeps the data root (the base image and the build's layers) in DIR
# instead, so a later run builds only what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$PWD
# Debian's Docker client and engine, not another one earlier on PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
docker=/usr/bin/docker
compose=/usr/bin/docker-compose
workers=4

note() { printf 'compose_test: %s\n' "$*"; }
fail() {
    printf 'compose_test: FAIL: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (the engine, debootstrap, the worker's sandbox)"
for tool in "$docker" /usr/sbin/dockerd /usr/bin/containerd /usr/sbin/docker-proxy "$compose" /usr/sbin/debootstrap \
    /usr/bin/python3; do
    [ -x "$tool" ] || fail "$tool not found (packaging/install-deps.sh installs docker.io, docker-compose, debootstrap)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/execd-docker-test.XXXXXX")
name=$(basename "$work" | tr 'A-Z.' 'a-z-')
project=${name//-/}
cgroup_parent=$name
if [ -n "${EXECD_DOCKER_CACHE:-}" ]; then
    mkdir -p "$EXECD_DOCKER_CACHE"
    data_root=$(cd "$EXECD_DOCKER_CACHE" && pwd)/data
else
    data_root=$work/data
fi
export DOCKER_HOST=unix://$work/docker.sock DOCKER_CONFIG=$work/client
export COMPOSE_PROJECT_NAME=$project COMPOSE_FILE=$repo/compose.yaml
export EXECD_BASE_IMAGE=execd-test-base:bookworm EXECD_IMAGE=execd-test:latest
export EXECD_PUBLISH=127.0.0.1:  # a port Docker picks, on loopback
export EXECD_WORKERS_COUNT=2
export EXECD_TOKENS=""  # none, whatever the caller's environment or a .env file says
export EXECD_LANGS=""  # every toolchain, as a plain build has
dockerd_pid=""
bridges=()
run_docker_dirs_existed=$([ -d /run/docker ] && echo yes || echo no)
started=$SECONDS

cleanup() {
    local status=$?
    set +e
    if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
        if [ $status != 0 ]; then
            note "the stack's state and last logs:"
            timeout 60 "$compose" ps
            timeout 60 "$compose" logs --tail 30 2>&1 | tail -n 150
        fi
        timeout 180 "$compose" down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1
        local left
        left=$(timeout 60 "$docker" ps -aq)
        [ -z "$left" ] || timeout 120 "$docker" rm -f -v $left >/dev/null 2>&1
        kill -TERM "$dockerd_pid"
        for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$dockerd_pid" 2>/dev/null; then
            note "dockerd $dockerd_pid did not stop within 30 s; killing it"
            kill -KILL "$dockerd_pid"
        fi
    fi
    # Whatever outlived the engine: processes in its containers' cgroups,
    # its containerd and shims (named by paths below $work), mounts below
    # $work, the compose network's bridge, the cgroup parent.
    local pids
    pids=$(find /sys/fs/cgroup -path "*/$cgroup_parent/*" -name cgroup.procs -exec cat {} + 2>/dev/null
        # The path comes in the environment: no process's arguments but the engine's hold it.
        WORK="$work/" /usr/bin/python3 -c '
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.environ["WORK"].encode() in open(f"/proc/{pid}/cmdline", "rb").read(): print(pid)
    except OSError:
        pass')
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
    grep -F " $work/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r | while read -r point; do
        umount -l "$point"
    done
    for bridge in ${bridges[@]+"${bridges[@]}"}; do
        [ -e "/sys/class/net/$bridge" ] && ip link delete "$bridge"
    done
    find /sys/fs/cgroup -depth -type d -path "*/$cgroup_parent*" -exec rmdir {} + 2>/dev/null
    if [ "$run_docker_dirs_existed" = no ]; then rmdir /run/docker/plugins /run/docker 2>/dev/null; fi
    rm -rf --one-file-system "$work"
    note "cleaned up ($((SECONDS - started)) s in all)"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the engine
# Its identity key too, which would go to /etc/docker otherwise.
echo "{\"deprecated-key-path\": \"$work/key.json\"}" >"$work/daemon.json"
mkdir -p "$data_root" "$work/exec" "$DOCKER_CONFIG"
/usr/sbin/dockerd --config-file "$work/daemon.json" --host "$DOCKER_HOST" --pidfile "$work/docker.pid" \
    --data-root "$data_root" --exec-root "$work/exec" \
    --containerd-namespace "$name" --containerd-plugins-namespace "$name-plugins" \
    --cgroup-parent "$cgroup_parent" --bridge none --iptables=false --ip-forward=false --ip-masq=false \
    >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 600); do
    "$docker" version >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 20 "$work/dockerd.log" >&2; fail "dockerd exited"; }
    sleep 0.1
done
"$docker" version >/dev/null 2>&1 || { tail -n 20 "$work/dockerd.log" >&2; fail "dockerd did not answer within 60 s"; }
note "dockerd $dockerd_pid on $DOCKER_HOST, data root $data_root (cgroup v$([ -f /sys/fs/cgroup/cgroup.controllers ] && echo 2 || echo 1))"

# ---- the base image: Debian 12 from Debian's packages
t=$SECONDS
if "$docker" image inspect "$EXECD_BASE_IMAGE" >/dev/null 2>&1; then
    note "base image $EXECD_BASE_IMAGE kept from an earlier run"
else
    timeout 1200 tests/docker/make-base-image.sh "$EXECD_BASE_IMAGE" || fail "making the base image failed"
    note "base image made in $((SECONDS - t)) s"
fi

# ---- the image, as compose.yaml builds it
# With BuildKit, as `docker compose` (v2) builds: the two stages run side by
# side, the compile of the build stage beside the toolchains' install of the
# runtime stage. Debian's docker-compose hands the build to the docker CLI
# for that.
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1 BUILDKIT_PROGRESS=plain
t=$SECONDS
if ! timeout 3600 "$compose" build 2>&1 | while IFS= read -r line; do
    printf '[%4d s] %s\n' $((SECONDS - t)) "$line"
done >"$work/build.log"; then
    tail -n 40 "$work/build.log" >&2
    fail "docker-compose build failed (above: the end of its log)"
fi
size=$("$docker" image inspect --format '{{.Size}}' "$EXECD_IMAGE")
note "image $EXECD_IMAGE built in $((SECONDS - t)) s: $((size / 1000000)) MB"
# Its longest steps, as BuildKit timed them ("#7 [build 2/5] RUN ...", then
# "#7 DONE 85.3s").
awk '{ sub(/^\[ *[0-9]+ s\] /, "") }
     /^#[0-9]+ \[/ { name[$1] = substr($0, length($1) + 2) }
     /^#[0-9]+ DONE [0-9.]+s$/ && ($1 in name) { printf "%6d s  %s\n", $3 + 0, substr(name[$1], 1, 90) }' \
    "$work/build.log" | sort -rn | sed -n 1,4p  # sed reads to the end: head would leave sort a SIGPIPE, which pipefail makes fatal

# ---- the stack: redis, api, four workers
t=$SECONDS
timeout 300 "$compose" up -d --scale worker=$workers >"$work/up.log" 2>&1 || {
    cat "$work/up.log" >&2
    fail "docker-compose up failed"
}
network=$("$docker" network ls -q --filter "label=com.docker.compose.project=$project")
for id in $network; do bridges+=("br-${id:0:12}"); done
address=$("$compose" port api 3001) || fail "the API's port is not published"
[[ $address == 127.0.0.1:* ]] || fail "the API is published on $address, not on loopback"
api=http://$address
# Ready means the API reaches Redis over the compose network. Another engine
# on the host with iptables on can stop that: it makes bridged traffic pass
# iptables' FORWARD chain, whose policy it sets to DROP.
why=""
if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] &&
    [[ $'\n'$(iptables -S FORWARD 2>/dev/null)$'\n' == *$'\n-P FORWARD DROP\n'* ]]; then
    why=" (bridged traffic passes iptables' FORWARD chain here, and its policy is DROP: another Docker engine with iptables on?)"
fi
/usr/bin/python3 - "$api/readyz" <<'EOF' || fail "the API did not answer /readyz with 200 within 60 s$why"
import sys, time, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
for container in $("$compose" ps -q worker); do
    for _ in $(seq 600); do
        [[ $("$docker" logs "$container" 2>&1) == *' workers started'* ]] && break
        [ "$("$docker" inspect -f '{{.State.Running}}' "$container")" = true ] || break
        sleep 0.1
    done
    [[ $("$docker" logs "$container" 2>&1) == *' workers started'* ]] || {
        "$docker" logs "$container" 2>&1 | tail -n 20 >&2
        fail "worker container $container did not start its workers"
    }
done
note "stack up in $((SECONDS - t)) s: API on $api, $workers workers"

# The API runs unprivileged: not root, no capability.
pid=$("$docker" inspect -f '{{.State.Pid}}' "$("$compose" ps -q api)")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
[ "$uid" != 0 ] && [ "$caps" = 0000000000000000 ] || fail "the API runs as uid $uid with capabilities $caps"
note "the API runs as uid $uid with no capability"

# ---- containment, 40 jobs, a worker killed mid-job
t=$SECONDS
peers=()
for service in redis api; do
    ip=$("$docker" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$("$compose" ps -q $service)")
    peers+=(--peer "$ip:$([ $service = redis ] && echo 6379 || echo 3001)")
done
timeout 600 /usr/bin/python3 tests/docker/compose_check.py --api "$api" --project "$project" --docker "$docker" \
    "${peers[@]}" || fail "the checks on the stack failed"
note "checks passed in $((SECONDS - t)) s"

t=$SECONDS
timeout 180 "$compose" down --volumes --remove-orphans --timeout 45 >/dev/null 2>&1 || fail "docker-compose down failed"
[ -z "$("$docker" ps -aq)" ] || fail "containers remain after docker-compose down"
note "stack down in $((SECONDS - t)) s"
note "passed"
