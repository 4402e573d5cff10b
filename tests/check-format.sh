#!/bin/bash
# Checks that the C++ sources follow .clang-format (Debian 12's clang-format
# 14); prints the files that do not and fails. With --fix, formats them.
# The language conformance programs under tests/langs are left as written.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null; then
    echo "check-format.sh: $cf not found (apt-get install clang-format)" >&2
    exit 1
fi
mapfile -t files < <(find core api daemon cmd tests -path tests/langs -prune -o \
                          -type f \( -name '*.h' -o -name '*.cpp' \) -print | sort)
if [ "${1:-}" = --fix ]; then
    "$cf" -i "${files[@]}"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    "$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
    echo "check-format.sh: ${#bad[@]} of ${#files[@]} files do not follow .clang-format ($("$cf" --version)):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "run tests/check-format.sh --fix, or see the diff with: $cf <file> | diff <file> -" >&2
    exit 1
fi
echo "check-format.sh: ${#files[@]} files follow .clang-format"
