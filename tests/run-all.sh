#!/bin/bash
# The whole test suite, as CI runs it: the source format check
# (tests/check-format.sh), a warnings-as-errors build and every
# test (unit, sandbox, every language, CLI), the install and the .deb on this
# machine (tests/packaging/package_test.sh), a chaos run of 300 jobs under
# faults (tests/chaos/chaos.py), the same tests under ASan+UBSan, each fuzz
# target for a minute (tests/fuzz/run.sh), and
# the sandbox and CLI tests (and the two-node containment test, and a
# language of every runtime family) again on a cgroup v2 kernel in QEMU, and
# the container image with compose.yaml on a
# Docker engine of its own (tests/docker/compose_test.sh); it ends by failing
# if any process the suite started still runs or any of its temporary
# directories remains.
#
#   sudo tests/run-all.sh          (after packaging/install-deps.sh)
#
# Nothing is skipped: the sandbox tests need root, and the cgroup v2 run
# needs the QEMU helper (../shared/tools/cgroup-v2-vm or $CGV2_TOOL).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs=${JOBS:-2}

if [ "$(id -u)" != 0 ]; then
    echo "run-all.sh: the sandbox tests need root (sudo $0)" >&2
    exit 1
fi

step() { printf '\n==== %s  [%d s]\n' "$*" "$SECONDS"; }

# What runs and what is in $TMPDIR before the suite: at the end, anything of
# the suite's still running or left behind is named and fails the run.
tmp=${TMPDIR:-/tmp}
marker=$(mktemp "$tmp/execd-run-all.XXXXXX")
trap 'rm -f "$marker"' EXIT
before=$(ps -e -o pid= | tr -d ' ')

step "source format (.clang-format)"
tests/check-format.sh

step "build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXECD_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "tests"
(cd build && ctest --output-on-failure --timeout 1200)

step "chaos: 300 jobs through two nodes while nodes are killed, drained, reloaded and Redis restarts"
/usr/bin/python3 tests/chaos/chaos.py --jobs 300 --seconds 90

step "install and Debian package (cmake --install --prefix, cpack, dpkg)"
tests/packaging/package_test.sh build

step "build with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEXECD_SANITIZE=ON -DEXECD_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs" --target execd_tests exec execd

step "tests under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure --timeout 1200 -R 'unit|sandbox|cli|daemon')

step "fuzz targets, 60 s each (tests/fuzz: Clang's libFuzzer, ASan+UBSan)"
tests/fuzz/run.sh --seconds "${FUZZ_SECONDS:-60}" --jobs "$jobs"

step "sandbox, CLI and a language of every runtime family on cgroup v2 (QEMU)"
vm=""
for d in "${CGV2_TOOL:-}" ../shared/tools/cgroup-v2-vm /work/shared/tools/cgroup-v2-vm; do
    if [ -n "$d" ] && [ -x "$d/run-v2.sh" ]; then vm=$d; break; fi
done
if [ -z "$vm" ]; then
    echo "run-all.sh: the cgroup v2 QEMU helper (run-v2.sh) was not found; set CGV2_TOOL" >&2
    exit 1
fi
# The guest's CPU is emulated, about five times slower than the host's: the
# language test gives compilers and generous limits 4x their time there
# (EXECD_TEST_TIME_SCALE; limits under test stay as they are).
CGV2_MEM=${CGV2_MEM:-2048M} CGV2_TIMEOUT=${CGV2_TIMEOUT:-1500} \
    "$vm/run-v2.sh" --env TMPDIR=/run --env EXECD_TEST_TIME_SCALE=4 "$PWD/build/tests/execd_tests" \
    '[sandbox],[cli],[daemon][v2],[languages][v2]'

step "container image and compose.yaml: 4 workers, 40 jobs, a worker killed mid-job (Docker)"
tests/docker/compose_test.sh

step "nothing the suite started is running or left behind"
survivors=()
while read -r pid stat comm; do
    [[ $stat == Z* ]] && continue  # already exited; only its parent can reap it
    grep -qx "$pid" <<<"$before" && continue
    case $comm in
        redis-server|execd|exec|execd_tests|execd-box-init|execd_*bench|dockerd|containerd*|docker-proxy|debootstrap)
            survivors+=("process $pid ($comm): $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)") ;;
    esac
done < <(ps -e -o pid=,stat=,comm=)
while read -r dir; do
    survivors+=("directory $dir")
done < <(find "$tmp" -maxdepth 1 \( -name 'execd-tests-*' -o -name 'execd-probe-home-*' -o -name 'execd-docker-test.*' \
              -o -name 'execd-base-image.*' -o -name 'execd-chaos-*' -o -name 'execd-fuzz-*' \) -newer "$marker")
if [ ${#survivors[@]} -gt 0 ]; then
    echo "run-all.sh: the suite left ${#survivors[@]} behind:" >&2
    printf '  %s\n' "${survivors[@]}" >&2
    exit 1
fi
echo "none"

step "all tests passed"
