#!/bin/bash
# Installs everything execd needs on Debian 12 (bookworm): the build
# dependencies, every toolchain languages.toml names in its `packages`, and
# what the container image's test needs (Docker, Compose, debootstrap).
#
#   packaging/install-deps.sh            build dependencies + all toolchains + container tools
#                                        + Clang's libFuzzer (tests/fuzz)
#   packaging/install-deps.sh --build    build dependencies only
#   packaging/install-deps.sh --runtime [PKG...]
#                                        what the container image runs: all toolchains,
#                                        redis-server and PKG (packaging/docker/Dockerfile)
#   packaging/install-deps.sh --print    print the package names instead of installing them (with
#                                        any mode: --build --print, --runtime --print)
#   ... --langs ID[,ID...]               only these languages' toolchains (ids or aliases as in
#                                        `exec languages`), with any of the modes above
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
# The fuzz targets (tests/fuzz): Clang with libFuzzer.
fuzz=(clang libclang-rt-14-dev)
# The image's runtime stage: the toolchains, these, and the libraries execd
# links, which the Dockerfile names from the built binaries.
runtime=(redis-server)

mode="" langs="" print=""
while [ $# -gt 0 ]; do
    case $1 in
        --build | --runtime)
            [ -z "$mode" ] || [ "$mode" = "$1" ] || { echo "install-deps.sh: $mode and $1 exclude each other" >&2; exit 2; }
            mode=$1
            ;;
        --print) print=yes ;;
        --langs)
            [ $# -ge 2 ] && [ -n "$2" ] || { echo "install-deps.sh: --langs needs a list of language ids" >&2; exit 2; }
            langs=$2
            shift
            ;;
        --langs=*) langs=${1#--langs=} ;;
        -*)
            echo "install-deps.sh: unknown option '$1' (--build, --runtime, --print or --langs)" >&2
            exit 2
            ;;
        *)
            [ "$mode" = --runtime ] || { echo "install-deps.sh: packages may follow --runtime only, not '$1'" >&2; exit 2; }
            runtime+=("$1")
            ;;
    esac
    shift
done

toolchains=()
if [ "$mode" != --build ]; then
    # The `packages = ["a", "b"]` of every [language.ID] stanza, or of those
    # --langs names (by id or alias); a name it cannot find is an error.
    list=$(awk -v wanted="$langs" '
        function words(text, out,    n, i, parts) {
            gsub(/[][" ]/, "", text); n = split(text, parts, ",")
            for (i = 1; i <= n; i++) if (parts[i] != "") out[parts[i]] = 1
        }
        BEGIN { n = split(tolower(wanted), list, ","); for (i = 1; i <= n; i++) if (list[i] != "") want[list[i]] = 1 }
        /^\[/ { id = ""; if (match($0, /^\[language\.[^]]+\]/)) id = tolower(substr($0, 11, RLENGTH - 11)); next }
        id == "" { next }
        /^[[:space:]]*aliases[[:space:]]*=/ { delete names; sub(/^[^=]*=/, ""); words(tolower($0), names)
                                             for (a in names) alias[a] = id }
        /^[[:space:]]*packages[[:space:]]*=/ { sub(/^[^=]*=/, ""); pkgs[id] = $0 }
        END {
            for (w in want) {
                chosen = (w in pkgs) ? w : ((w in alias) ? alias[w] : "")
                if (chosen == "") { print "install-deps.sh: no language \"" w "\" in the registry" > "/dev/stderr"; bad = 1; continue }
                take[chosen] = 1
            }
            if (bad) exit 3
            for (l in pkgs) if (wanted == "" || (l in take)) { delete got; words(pkgs[l], got); for (p in got) print p }
        }' "$registry") || exit 2
    mapfile -t toolchains < <(printf '%s\n' "$list" | sed '/^$/d' | sort -u)
fi

case $mode in
    --build) packages=("${build[@]}") ;;
    --runtime) packages=("${runtime[@]}" "${toolchains[@]}") ;;
    *) packages=("${build[@]}" "${docker[@]}" "${fuzz[@]}" "${toolchains[@]}") ;;
esac
# A package two groups need (clang: the fuzz targets and c-clang) once, in
# the order first named.
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk 'NF && !seen[$0]++')

if [ -n "$print" ]; then
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
