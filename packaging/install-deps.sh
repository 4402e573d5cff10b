#!/bin/bash
# Installs everything execd needs on Debian 12 (bookworm): the build
# dependencies, every toolchain languages.toml names in its `packages`, and
# what the container image's test needs (Docker, Compose, debootstrap).
#
#   packaging/install-deps.sh            build dependencies + all toolchains + container tools
#   packaging/install-deps.sh --build    build dependencies only
#   packaging/install-deps.sh --runtime [PKG...]
#                                        what the container image runs: all toolchains,
#                                        redis-server and PKG (packaging/docker/Dockerfile)
#   packaging/install-deps.sh --print    print the default install's package names, install nothing
#
# Needs root. Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
registry=${EXECD_LANGUAGES:-$here/../languages.toml}

build=(cmake make g++ pkg-config
       libcli11-dev libpoco-dev libspdlog-dev libtoml11-dev catch2 libseccomp-dev nettle-dev
       redis-server bubblewrap firejail libxml2-utils python3 ca-certificates clang-format procps
       python3-yaml python3-jsonschema python3-prometheus-client curl
       dpkg-dev file systemd zsh fish)  # the last line for tests/packaging/package_test.sh

# The container image and its test (tests/docker): not needed to build.
docker=(docker.io docker-compose debootstrap iproute2)
# The image's runtime stage: the toolchains, these, and the libraries execd
# links, which the Dockerfile names from the built binaries.
runtime=(redis-server)

mode=${1:-}
case $mode in
    "" | --build | --print) ;;
    --runtime) shift && runtime+=("$@") ;;
    *)
        echo "install-deps.sh: unknown option '$mode' (--build, --runtime or --print)" >&2
        exit 2
        ;;
esac

toolchains=()
if [ "$mode" != --build ]; then
    # Every `packages = ["a", "b"]` line of the registry, one name per word.
    mapfile -t toolchains < <(sed -n 's/^[[:space:]]*packages[[:space:]]*=[[:space:]]*\[\(.*\)\].*/\1/p' "$registry" \
                              | tr ',' '\n' | tr -d ' "' | sed '/^$/d' | sort -u)
fi

case $mode in
    --build) packages=("${build[@]}") ;;
    --runtime) packages=("${runtime[@]}" "${toolchains[@]}") ;;
    *) packages=("${build[@]}" "${docker[@]}" "${toolchains[@]}") ;;
esac

if [ "$mode" = --print ]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: run as root (sudo $0)" >&2
    exit 1
fi
if [ -z "$mode" ] && [ "$(dpkg-query -W -f '${db:Status-Status}' docker-ce 2>/dev/null)" = installed ]; then
    # Debian's docker.io conflicts with Docker's own packages: keep those.
    echo "install-deps.sh: docker-ce is installed; docker.io left out"
    kept=()
    for p in "${packages[@]}"; do [ "$p" = docker.io ] || kept+=("$p"); done
    packages=("${kept[@]}")
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps.sh: installed ${#packages[@]} packages (${#toolchains[@]} of them toolchains)"
