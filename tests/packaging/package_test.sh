#!/bin/bash
# The install and the Debian package, used as an administrator would:
#
#  1. `cmake --install BUILD --prefix P` in a mount namespace where every
#     file system but P and BUILD is read-only, so that a write anywhere else
#     fails the install. Then the tree under P: the programs, the execctl
#     link, the unit naming P's paths, the registry; P/bin/exec runs a
#     program in a language that only P/share/execd/languages.toml has (and
#     exec-remote, for --json, reads it too, and so does the tree once moved),
#     which the build tree's exec refuses; P/sbin/execd names that file when
#     it is broken.
#  2. `cpack` in BUILD: the .deb's dependencies, its conffile and the
#     conffile's mode. Installed with dpkg: exec run, execd --version,
#     systemd-analyze verify on the unit, the completions (bash's called as
#     bash calls it; zsh and fish find theirs). Purged: nothing that was not
#     there before remains, /etc/execd and /var/lib/execd included.
#
# It runs in a mount namespace of its own, in which the host's /etc/execd
# and /var/lib/execd (those that exist) are hidden under empty tmpfs: the
# runs here see only the registry they are given, and the package's purge
# empties only those. Its exec runs use a state directory and an engine
# instance of their own (no warm sandbox), and the host's box slot locks in
# /run/execd/locks like any engine; /run/execd is hidden too when the
# package is purged, whose prerm would stop the default engine's warm
# sandboxes. /run/execd is left to the reboot that empties /run, unless the
# test made it. Whatever it installed is purged, and its files removed,
# also when a step fails. It refuses to run when a package named execd is
# known to dpkg, or a file of the package is already there.
#
#   sudo tests/packaging/package_test.sh [BUILD_DIR]    (default: build, as tests/run-all.sh makes it)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$here/../.." && pwd)

fail() {
    echo "package_test.sh: $*" >&2
    exit 1
}
step() { printf -- '-- %s\n' "$*"; }

[ "$(id -u)" = 0 ] || fail "needs root (sudo $0)"
build=$(cd "${1:-$source_dir/build}" 2>/dev/null && pwd) || fail "no build directory ${1:-$source_dir/build}"
[ -x "$build/cmd/exec" ] && [ -x "$build/daemon/execd" ] || fail "$build has no built exec and execd"
for tool in unshare mountpoint cmake cpack dpkg dpkg-deb dpkg-shlibdeps file systemd-analyze zsh fish; do
    command -v "$tool" >/dev/null || fail "$tool is missing (packaging/install-deps.sh installs it)"
done

# A package named execd that dpkg knows (installed, or its configuration
# left) is someone's: it is not touched.
package_state() { dpkg-query -W -f='${db:Status-Status}' execd 2>/dev/null || echo not-installed; }
if [ "$(package_state)" != not-installed ]; then
    fail "a package named execd is on this machine ($(package_state)); not touching it: remove it first (dpkg --purge execd)"
fi

# An execd.service from elsewhere (cmake --install into /usr/local, or an
# administrator's unit in /etc) would outrank the package's: enabling and
# stopping "execd.service" would then reach that engine. Not touched either.
for unit_dir in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /lib/systemd/system \
                /usr/lib/systemd/system; do
    [ -e "$unit_dir/execd.service" ] &&
        fail "$unit_dir/execd.service exists: another execd is installed here; not touching it"
done

if [ "${EXECD_PACKAGE_TEST_NS:-}" != 1 ]; then
    # One run at a time on a machine: dpkg's package name is global.
    exec 9>/run/lock/execd-package-test.lock
    flock -n 9 || fail "another package test is running on this machine"
    exec unshare --mount --propagation private /usr/bin/env EXECD_PACKAGE_TEST_NS=1 "$BASH" "$0" "$build"
fi

# ---- in the test's own mount namespace from here on

for dir in /etc/execd /var/lib/execd; do
    if [ -d "$dir" ]; then
        mount -t tmpfs -o mode=0755 execd-package-test "$dir"
    fi
done
run_dir_was_there=""
[ -d /run/execd ] && run_dir_was_there=1
run_dir_hidden=""
# Before a purge: the prerm stops the warm sandboxes listed in
# /run/execd/locks, which are not this test's.
hide_run_dir() {
    if [ -z "$run_dir_hidden" ] && [ -d /run/execd ]; then
        mount -t tmpfs -o mode=0755 execd-package-test /run/execd
        run_dir_hidden=1
    fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/execd-package-test.XXXXXX")
chmod 755 "$work"
installed_by_us=""
created_by_us=()
instance_base=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    if [ -n "$installed_by_us" ] && [ "$(package_state)" != not-installed ]; then
        hide_run_dir
        dpkg --purge execd >"$work/cleanup-purge.log" 2>&1 || {
            cat "$work/cleanup-purge.log" >&2
            echo "package_test.sh: could not purge execd" >&2
            status=1
        }
    fi
    for dir in "${created_by_us[@]}"; do rm -rf "$dir"; done
    # A /run/execd that this test's runs made: their slot lock files, and
    # the directories if nothing else has come to use them.
    if [ -n "$run_dir_hidden" ]; then umount /run/execd; fi
    if [ -z "$run_dir_was_there" ] && [ -n "$instance_base" ] && [ -d /run/execd/locks ]; then
        for ((uid = instance_base; uid < instance_base + 256; uid++)); do rm -f "/run/execd/locks/box-$uid.lock"; done
        rmdir /run/execd/locks /run/execd 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

version=$(sed -n 's/^project(execd VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
[ -n "$version" ] || fail "no project(execd VERSION ...) in $source_dir/CMakeLists.txt"

# An engine instance whose box uid range no live process uses (the FNV-1a
# of core/sandbox/sandbox.cpp's instance_uid_base), so no other engine's
# boxes are taken for this one's.
uid_base() {
    local name=$1 h=2166136261 i c
    for ((i = 0; i < ${#name}; i++)); do
        printf -v c '%d' "'${name:i:1}"
        h=$((((h ^ c) * 16777619) & 0xffffffff))
    done
    echo $((61000 + 256 * (1 + h % 60)))
}
instance=""
for ((n = 0; n < 20; n++)); do
    candidate=pkgtest-$$-$n
    base=$(uid_base "$candidate")
    if ! ps -e -o uid= | awk -v lo="$base" -v hi=$((base + 256)) '$1 >= lo && $1 < hi { found = 1 } END { exit !found }'; then
        instance=$candidate
        instance_base=$base
        break
    fi
done
[ -n "$instance" ] || fail "no engine instance with a free uid range"
state=$work/state
mkdir -m 700 "$state"
# A run on this host: no server, no warm sandbox, no compile cache.
run_exec() {
    local program=$1
    shift
    "$program" --local --warm 0 --no-cache --state-dir "$state" --instance "$instance" "$@"
}

# ---------------------------------------------------------------- 1. cmake --install --prefix

prefix=$work/prefix
mkdir "$prefix"
step "cmake --install $build --prefix $prefix, everything but the two read-only"
# Each mount of this namespace is made read-only (a remount of its own copy
# of the mount), then the prefix and the build directory (cmake writes
# install_manifest.txt there) writable again.
guarded_install() {
    local mnt
    while read -r _ _ _ _ mnt _; do
        mnt=$(printf '%b' "$mnt")
        case $mnt in /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;; esac
        mount -o remount,bind,ro "$mnt" </dev/null || mount -o remount,bind,ro "$mnt" </dev/null ||
            { echo "cannot make $mnt read-only" >&2; return 1; }
    done </proc/self/mountinfo
    for dir in "$prefix" "$build"; do
        mount --bind "$dir" "$dir"
        mount -o remount,bind,rw "$dir"
    done
    if touch "$work/outside-the-prefix" 2>/dev/null; then
        echo "the guard does not hold: $work is writable" >&2
        return 1
    fi
    cmake --install "$build" --prefix "$prefix"
}
export -f guarded_install
export prefix build work
if ! unshare --mount --propagation private "$BASH" -c 'set -euo pipefail; guarded_install' >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2
    fail "cmake --install --prefix $prefix failed: above, what it wrote outside $prefix, or why"
fi

step "the tree under $prefix"
for program in bin/exec sbin/execd lib/execd/exec-remote; do
    [ -f "$prefix/$program" ] && [ -x "$prefix/$program" ] || fail "$prefix/$program is not installed"
done
[ -L "$prefix/bin/execctl" ] && [ "$(readlink "$prefix/bin/execctl")" = exec ] ||
    fail "$prefix/bin/execctl is not the link 'exec' ($(ls -l "$prefix/bin/execctl" 2>&1))"
[ "$("$prefix/bin/execctl" --version)" = "exec $version" ] || fail "$prefix/bin/execctl --version is not exec $version"
cmp -s "$source_dir/languages.toml" "$prefix/share/execd/languages.toml" ||
    fail "$prefix/share/execd/languages.toml is not the repository's"
unit=$prefix/lib/systemd/system/execd.service
grep -qx "ExecStart=$prefix/sbin/execd --config $prefix/etc/execd/execd.toml" "$unit" ||
    fail "$unit does not start $prefix/sbin/execd with $prefix/etc/execd/execd.toml: $(grep ExecStart "$unit")"
[ "$(stat -c %a "$prefix/etc/execd/execd.toml")" = 640 ] || fail "$prefix/etc/execd/execd.toml is not mode 0640"
for file in share/man/man1/exec.1 share/man/man8/execd.8 share/man/man5/execd.toml.5 share/man/man5/languages.toml.5 \
    share/bash-completion/completions/execctl share/zsh/vendor-completions/_execctl \
    share/fish/vendor_completions.d/execctl.fish share/doc/execd/examples/execd.toml; do
    [ -f "$prefix/$file" ] || fail "$prefix/$file is not installed"
done
# The manifest names exactly what is under the prefix.
sort "$build/install_manifest.txt" >"$work/manifest"
find "$prefix" ! -type d | sort >"$work/found"
diff -u "$work/manifest" "$work/found" >&2 || fail "install_manifest.txt and the files under $prefix differ (above)"
systemd-analyze verify --man=no "$unit" || fail "systemd-analyze verify refuses $unit"

step "$prefix/bin/exec runs with $prefix/share/execd/languages.toml"
# A language only that file has.
cat >>"$prefix/share/execd/languages.toml" <<'EOF'

[language.pkgtest]
name = "Installed registry"
extensions = ["pkgtest"]
source = "main.py"
run = ["/usr/bin/python3", "main.py"]
EOF
printf 'print("read the installed registry")\n' >"$work/hello.pkgtest"
out=$(run_exec "$prefix/bin/exec" run "$work/hello.pkgtest") || fail "$prefix/bin/exec run hello.pkgtest failed"
[ "$out" = "read the installed registry" ] || fail "$prefix/bin/exec run printed '$out'"
# exec-remote (for --json) is found below the prefix, and reads it too.
out=$(run_exec "$prefix/bin/exec" run --json "$work/hello.pkgtest") || fail "$prefix/bin/exec run --json failed"
[[ $out == *'"stdout":"read the installed registry\n"'* ]] || fail "$prefix/bin/exec run --json printed '$out'"
# The same exec from the build tree has no such language: the file above
# is what made the difference.
set +e
err=$(run_exec "$build/cmd/exec" run "$work/hello.pkgtest" 2>&1)
status=$?
set -e
[ "$status" = 2 ] && [[ $err == *extension* ]] ||
    fail "the build tree's exec did not refuse the extension .pkgtest (exit $status): $err"
# Moved elsewhere, the tree still finds its own registry.
mv "$prefix" "$work/moved"
out=$(run_exec "$work/moved/bin/exec" run "$work/hello.pkgtest") || fail "the moved tree's exec run failed"
[ "$out" = "read the installed registry" ] || fail "the moved tree's exec run printed '$out'"
mv "$work/moved" "$prefix"
# execd reads the same file: broken, it is refused by name before anything starts.
echo "oops" >>"$prefix/share/execd/languages.toml"
set +e
err=$("$prefix/sbin/execd" --config "$prefix/etc/execd/execd.toml" 2>&1)
status=$?
set -e
[ "$status" = 2 ] && [[ $err == *"$prefix/share/execd/languages.toml:"* ]] ||
    fail "$prefix/sbin/execd did not refuse its broken registry by name (exit $status): $err"

# ---------------------------------------------------------------- 2. the .deb

step "cpack: the .deb"
if ! (cd "$build" && cpack -G DEB -B "$work/deb") >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log" >&2
    fail "cpack failed"
fi
debs=("$work"/deb/execd_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "cpack wrote no execd_*.deb: $(ls "$work/deb")"
deb=${debs[0]}

step "$(basename "$deb"): control data and contents"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = execd ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', not $version"
depends=$(field Depends)
for needed in libc6 libstdc++6 libseccomp2 libpoconet libspdlog; do
    [[ $depends == *"$needed"* ]] || fail "Depends has no $needed: $depends"
done
[[ $(field Recommends) == *redis-server* ]] || fail "Recommends has no redis-server: $(field Recommends)"
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/execd/execd.toml ] ||
    fail "the conffiles are '$(dpkg-deb -I "$deb" conffiles)', not /etc/execd/execd.toml"
dpkg-deb -c "$deb" >"$work/contents"
grep -Eq '^-rw-r----- root/root .* \./etc/execd/execd\.toml$' "$work/contents" ||
    fail "/etc/execd/execd.toml is not root's, mode 0640: $(grep execd.toml "$work/contents")"
paths=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\.||; s|/$||' | sed '/^$/d')
outside=$(grep -Ev '^/(usr|etc)(/|$)' <<<"$paths" || true)
[ -z "$outside" ] || fail "the package has files outside /usr and /etc: $outside"
for file in /usr/bin/exec /usr/bin/execctl /usr/sbin/execd /usr/lib/execd/exec-remote \
    /usr/share/execd/languages.toml /usr/lib/systemd/system/execd.service \
    /usr/share/bash-completion/completions/execctl /usr/share/zsh/vendor-completions/_execctl \
    /usr/share/fish/vendor_completions.d/execctl.fish /usr/share/man/man1/exec.1; do
    grep -qx "$file" <<<"$paths" || fail "the package has no $file"
done

# What is there before: the package's paths and what it would leave, so
# that the purge can be held to leaving exactly that.
wants=/etc/systemd/system/multi-user.target.wants/execd.service
checked=$(printf '%s\n' "$paths" /etc/execd /var/lib/execd "$wants" | sort -u)
before=()
while read -r path; do
    if [ -e "$path" ] || [ -L "$path" ]; then
        [ -d "$path" ] && [ ! -L "$path" ] || fail "$path is already on this machine; not overwriting it"
        before+=("$path")
    fi
done <<<"$checked"
was_there() {
    local p
    for p in "${before[@]}"; do [ "$p" = "$1" ] && return 0; done
    return 1
}

step "dpkg -i"
installed_by_us=1
if ! dpkg -i "$deb" >"$work/dpkg-install.log" 2>&1; then
    cat "$work/dpkg-install.log" >&2
    fail "dpkg -i $(basename "$deb") failed"
fi
[ "$(package_state)" = installed ] || fail "execd is '$(package_state)' after dpkg -i"
dpkg -L execd >"$work/package-files"

step "the installed package works"
[ "$(/usr/bin/exec --version)" = "exec $version" ] || fail "exec --version: $(/usr/bin/exec --version 2>&1)"
[ "$(/usr/sbin/execd --version)" = "execd $version" ] || fail "execd --version: $(/usr/sbin/execd --version 2>&1)"
out=$(run_exec /usr/bin/execctl run "$source_dir/examples/hello.py") || fail "execctl run hello.py failed"
[ "$out" = hello ] || fail "execctl run hello.py printed '$out'"
out=$(run_exec /usr/bin/exec run --json "$source_dir/examples/hello.py") || fail "exec run --json hello.py failed"
[[ $out == *'"stdout":"hello\n"'* ]] || fail "exec run --json hello.py printed '$out'"
[ "$(stat -c '%a %U %G' /etc/execd/execd.toml)" = "640 root root" ] ||
    fail "/etc/execd/execd.toml is $(stat -c '%a %U %G' /etc/execd/execd.toml)"
grep -qx 'ExecStart=/usr/sbin/execd --config /etc/execd/execd.toml' /usr/lib/systemd/system/execd.service ||
    fail "the unit starts $(grep ExecStart /usr/lib/systemd/system/execd.service)"
systemd-analyze verify --man=no /usr/lib/systemd/system/execd.service ||
    fail "systemd-analyze verify refuses /usr/lib/systemd/system/execd.service"
enabled=$(systemctl is-enabled execd.service 2>&1) || true
[ "$enabled" = disabled ] || fail "execd.service is '$enabled' after the install, not disabled"

step "the completions"
# bash: the function called as bash calls it, with the language names from
# the installed exec (its state directory this test's).
complete_bash() {
    EXECD_STATE_DIR=$state PATH=/usr/bin:/bin bash -c '
        . /usr/share/bash-completion/completions/execctl
        [ "$(complete -p execctl)" = "complete -F _execctl execctl" ] || exit 3
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _execctl
        printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}
words=$(complete_bash execctl "") || fail "the bash completion is not registered for execctl"
for command in run languages submit status wait cancel test warm; do
    grep -qx "$command" <<<"$words" || fail "bash completes no '$command' after execctl: $words"
done
[ "$(complete_bash execctl ru)" = run ] || fail "bash completes 'execctl ru' to '$(complete_bash execctl ru)'"
words=$(complete_bash execctl run --l)
[ "$(sort <<<"$words" | tr '\n' ' ')" = "--lang --languages --local " ] ||
    fail "bash completes 'execctl run --l' to: $words"
words=$(complete_bash execctl test --s)
[ "$(sort <<<"$words" | tr '\n' ' ')" = "--server --state-dir --stop-on-failure --suite " ] ||
    fail "bash completes 'execctl test --s' to: $words"
words=$(complete_bash execctl run --lang py)
[ "$(sort <<<"$words" | tr '\n' ' ')" = "pypy python " ] || fail "bash completes 'execctl run --lang py' to: $words"
words=$(complete_bash execctl run --lang pyt)
[ "$words" = python ] || fail "bash completes 'execctl run --lang pyt' to: $words"
words=$(complete_bash execctl --warm 0 run -l "")
for language in python c cpp javascript; do
    grep -qx "$language" <<<"$words" || fail "bash completes no language '$language' after --lang: $words"
done
# zsh and fish: the files parse, and each shell finds its own where it looks.
zsh -n /usr/share/zsh/vendor-completions/_execctl || fail "zsh -n refuses _execctl"
fish -n /usr/share/fish/vendor_completions.d/execctl.fish || fail "fish -n refuses execctl.fish"
found=$(HOME=$work zsh -fc 'autoload -Uz compinit && compinit -u -D && print -r -- $_comps[execctl]')
[ "$found" = _execctl ] || fail "zsh's compinit does not find _execctl for execctl: '$found'"
words=$(EXECD_STATE_DIR=$state HOME=$work XDG_CONFIG_HOME=$work XDG_DATA_HOME=$work \
    fish -c 'complete -C "execctl run --lang pyt"' | cut -f 1)
[ "$words" = python ] || fail "fish completes 'execctl run --lang pyt' to: $words"

step "dpkg --purge"
hide_run_dir
# What the service and the administrator would have added.
mkdir -p /var/lib/execd/appendonlydir
touch /var/lib/execd/appendonlydir/appendonly.aof /etc/execd/tokens
created_by_us+=("$wants")
systemctl enable execd.service >/dev/null 2>&1 || fail "systemctl enable execd.service failed"
[ -L "$wants" ] || fail "systemctl enable made no $wants"
was_there /var/lib/execd || created_by_us+=(/var/lib/execd)
if ! dpkg --purge execd >"$work/dpkg-purge.log" 2>&1; then
    cat "$work/dpkg-purge.log" >&2
    fail "dpkg --purge execd failed"
fi
[ "$(package_state)" = not-installed ] || fail "execd is '$(package_state)' after the purge"
installed_by_us=""
left=()
while read -r path; do
    if was_there "$path"; then
        # A directory hidden above is a mount point: it stays, emptied.
        if mountpoint -q "$path" && [ -n "$(ls -A "$path")" ]; then left+=("$path/$(ls -A "$path" | sed -n 1p)"); fi
        continue
    fi
    if [ -e "$path" ] || [ -L "$path" ]; then left+=("$path"); fi
done < <(sort -u - "$work/package-files" <<<"$checked" | grep -v '^/\.$')
[ ${#left[@]} = 0 ] || fail "the purge left ${left[*]}"

step "package test passed"
