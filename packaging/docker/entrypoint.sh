#!/bin/sh
# The image's entry point: runs its arguments. As root (the worker role),
# it first makes the container's own cgroups usable by execd's sandbox,
# which makes a cgroup per box below them:
#
# - Docker mounts the cgroup file systems read-only; they are remounted
#   read-write. Only this container's part of the tree is mounted there
#   (its own subtree on cgroup v1, its cgroup namespace on v2), so boxes
#   stay inside the container's cgroup. Needs CAP_SYS_ADMIN, and AppArmor
#   must not forbid mount (compose.yaml says why each privilege is there).
# - On cgroup v2, a cgroup that holds processes cannot hand controllers to
#   cgroups below it, so every process of the container moves from the
#   root of its cgroup namespace into /init, and memory, pids and cpu are
#   enabled below the root.
#
# EXECD_CONTAINER_CGROUPS=0 skips all this (a root container that runs no
# sandbox, or cgroups prepared otherwise).
set -eu

die() {
    echo "entrypoint: $*" >&2
    exit 1
}

prepare_cgroups() {
    # Only the hierarchies execd uses: on cgroup v1, a writable devices
    # hierarchy would let the container widen its own device access.
    points=""
    while read -r _ _ _ _ point options rest; do
        set -- ${rest#*- }  # file system type, source, super options
        case $1 in
            cgroup2) ;;
            cgroup) case ,$3, in *,memory,* | *,pids,* | *,cpuacct,*) ;; *) continue ;; esac ;;
            *) continue ;;
        esac
        case ,$options, in *,ro,*) points="$points $point" ;; esac
    done </proc/self/mountinfo
    for point in $points; do
        mount -o remount,bind,rw "$point" 2>/dev/null ||
            die "cannot remount $point read-write: the worker needs CAP_SYS_ADMIN and no AppArmor" \
                "confinement (cap_add: [SYS_ADMIN], security_opt: [apparmor:unconfined]; see compose.yaml)"
    done

    [ -f /sys/fs/cgroup/cgroup.controllers ] || return 0  # cgroup v1: nothing more
    [ "$(cat /proc/self/cgroup)" = "0::/" ] ||
        die "cgroup v2 without a cgroup namespace of its own ($(cat /proc/self/cgroup)): run the worker" \
            "with a private cgroup namespace (Docker's default on cgroup v2; docker run --cgroupns=private)"
    mkdir -p /sys/fs/cgroup/init
    for pid in $(cat /sys/fs/cgroup/cgroup.procs); do
        echo "$pid" >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true  # a process that has ended
    done
    available=" $(cat /sys/fs/cgroup/cgroup.controllers) "
    for controller in memory pids cpu; do
        case $available in
            *" $controller "*) echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control ;;
            *) [ "$controller" = cpu ] || die "the cgroup v2 controller $controller is not available to the container" ;;
        esac
    done
}

if [ "$(id -u)" = 0 ] && [ "${EXECD_CONTAINER_CGROUPS:-1}" != 0 ]; then
    prepare_cgroups
fi
[ $# -gt 0 ] || set -- execd --help
exec "$@"
