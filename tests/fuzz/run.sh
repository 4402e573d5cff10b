#!/bin/bash
# Builds the libFuzzer targets (EXECD_FUZZ=ON, Clang, ASan and UBSan) and
# runs each one from its seed corpus in tests/fuzz/corpus/<target>.
#
#   tests/fuzz/run.sh [--seconds N | --runs N] [--jobs J] [TARGET...]
#
# --seconds N   run each target for N seconds (default 60)
# --runs N      run each target for N executions instead
# --jobs J      targets run at once (default: the number of CPUs)
# TARGET        submission batch raw_json registry tests_toml checker base64
#               utf8 (default: all)
#
# The build goes to build-fuzz (EXECD_FUZZ_BUILD overrides). New inputs a
# run finds are kept in <build>/corpus/<target>, so runs add up; an input
# that crashes a target, breaks a property or trips a sanitizer is saved in
# <build>/artifacts/<target>/ and the script fails, naming it. It prints the
# executions each target made.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source_dir=$PWD

seconds=60 runs="" jobs=$(nproc) targets=()
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
all=(submission batch raw_json registry tests_toml checker base64 utf8)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "run.sh: no fuzz target '$t' (${all[*]})" >&2; exit 2; }
done

build=${EXECD_FUZZ_BUILD:-$source_dir/build-fuzz}
command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$source_dir" -B "$build" -DEXECD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
elif ! grep -qx 'EXECD_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
    echo "run.sh: $build is not a fuzz build (EXECD_FUZZ=ON); remove it or set EXECD_FUZZ_BUILD" >&2
    exit 2
fi
cmake --build "$build" -j"$jobs" --target fuzz >/dev/null

# One target: its own corpus directory first (libFuzzer writes new inputs
# there), the seeds second. Its summary line goes to $build/fuzz-<t>.result.
fuzz_one() {
    local t=$1 log=$build/fuzz-$t.log
    mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
    local limit=(-max_total_time="$seconds")
    [ -z "$runs" ] || limit=(-runs="$runs")
    # toml11 under ASan takes about 2 ms for an 8 KB input and a fifth of
    # that for 2 KB, which holds several language entries (about 400 bytes
    # each) and the deepest nesting the loaders allow (about 130 bytes).
    local max_len=8192
    case $t in registry | tests_toml) max_len=2048 ;; esac
    local status=0
    "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -max_len=$max_len -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "$source_dir/tests/fuzz/corpus/$t" \
        >"$log" 2>&1 || status=$?
    local done_runs seconds_taken
    done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    seconds_taken=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    if [ $status = 0 ]; then
        printf '%-11s %12s runs %6s s  ok\n' "$t" "${done_runs:-?}" "${seconds_taken:-?}" >"$build/fuzz-$t.result"
    else
        {
            printf '%-11s %12s runs %6s s  FAILED (exit %d): %s\n' "$t" "${done_runs:-?}" "${seconds_taken:-?}" "$status" \
                "$(ls -t "$build/artifacts/$t"/* 2>/dev/null | sed -n 1p)"
            grep -E -m 8 'ERROR|SUMMARY|property does not hold|^    #[0-9] ' "$log" | sed 's/^/    /'
        } >"$build/fuzz-$t.result"
    fi
}

rm -f "$build"/fuzz-*.result
running=0
for t in "${targets[@]}"; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

failed=0
for t in "${targets[@]}"; do
    cat "$build/fuzz-$t.result"
    grep -q ' ok$' "$build/fuzz-$t.result" || failed=1
done
exit $failed
