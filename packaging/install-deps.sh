#!/bin/bash
# Installs everything execd needs on Debian 12 (bookworm): the build
# dependencies and every toolchain languages.toml names in its `packages`.
#
#   packaging/install-deps.sh            build dependencies + all toolchains
#   packaging/install-deps.sh --build    build dependencies only
#   packaging/install-deps.sh --print    print the package names, install nothing
#
# Needs root. Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
registry=${EXECD_LANGUAGES:-$here/../languages.toml}

build=(cmake make g++ pkg-config
       libcli11-dev libpoco-dev libspdlog-dev libtoml11-dev catch2 libseccomp-dev nettle-dev
       redis-server bubblewrap firejail libxml2-utils python3 ca-certificates clang-format procps)

toolchains=()
if [ "${1:-}" != --build ]; then
    # Every `packages = ["a", "b"]` line of the registry, one name per word.
    mapfile -t toolchains < <(sed -n 's/^[[:space:]]*packages[[:space:]]*=[[:space:]]*\[\(.*\)\].*/\1/p' "$registry" \
                              | tr ',' '\n' | tr -d ' "' | sed '/^$/d' | sort -u)
fi

if [ "${1:-}" = --print ]; then
    printf '%s\n' "${build[@]}" "${toolchains[@]}"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: run as root (sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${build[@]}" "${toolchains[@]}" >/dev/null
echo "install-deps.sh: installed ${#build[@]} build packages and ${#toolchains[@]} toolchain packages"
