#!/bin/bash
# Makes a Debian 12 (bookworm) base image from Debian's own packages, for a
# machine that cannot pull `debian:12` from a registry: debootstrap into a
# temporary directory, then `docker import`. The image then stands in for
# debian:12 as the image's BASE_IMAGE:
#
#   sudo tests/docker/make-base-image.sh execd-base:bookworm
#   EXECD_BASE_IMAGE=execd-base:bookworm docker-compose build
#
# Needs root, debootstrap and a running Docker engine ($DOCKER_HOST or the
# default socket). DEBIAN_MIRROR names another mirror (default
# http://deb.debian.org/debian); DEBIAN_SECURITY_MIRROR the security one.
set -euo pipefail
tag=${1:-execd-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}
docker=${DOCKER:-/usr/bin/docker}

if [ "$(id -u)" != 0 ]; then
    echo "make-base-image.sh: debootstrap needs root (sudo $0)" >&2
    exit 1
fi
for tool in debootstrap unshare "$docker"; do
    if ! command -v "$tool" >/dev/null; then
        echo "make-base-image.sh: $tool not found (apt-get install debootstrap docker.io)" >&2
        exit 1
    fi
done
if [[ $tag != *:* || $tag == *[[:space:]]* ]]; then
    echo "make-base-image.sh: '$tag' is not an image name with a tag (name:tag)" >&2
    exit 1
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/execd-base-image.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT

# debootstrap mounts /proc and /sys inside the target while it installs; in
# a mount namespace of its own those mounts end with it, however it ends.
unshare --mount --propagation private \
    debootstrap --variant=minbase --components=main bookworm "$root/rootfs" "$mirror" >"$root/debootstrap.log" 2>&1 ||
    {
        echo "make-base-image.sh: debootstrap failed; its log:" >&2
        tail -n 30 "$root/debootstrap.log" >&2
        exit 1
    }

# The sources and apt settings of Docker's own debian:12: updates and
# security too, no downloaded packages or indexes kept in a layer.
rm -f "$root/rootfs/etc/apt/sources.list"
cat >"$root/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$root/rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$root/rootfs/etc/apt/apt.conf.d/docker-no-languages"
# dpkg without an fsync per unpacked file, as in debian:12: a build step
# that fails is thrown away whole, so the syncs protect nothing, and the
# toolchain layer unpacks tens of thousands of files.
echo 'force-unsafe-io' >"$root/rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
rm -rf "$root/rootfs/var/lib/apt/lists/"* "$root/rootfs/var/cache/apt/"*.bin "$root/rootfs/var/log/"*.log
echo "debian" >"$root/rootfs/etc/hostname"

tar -C "$root/rootfs" --numeric-owner -c . |
    "$docker" import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$tag" >/dev/null
echo "make-base-image.sh: $tag ($("$docker" image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
