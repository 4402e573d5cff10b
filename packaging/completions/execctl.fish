# fish completion for execctl. `exec` is the same program, but fish finds
# completions by the command's name, and bare `exec` is its builtin, whose
# completion stays fish's. Installed as
# <datadir>/fish/vendor_completions.d/execctl.fish.

# The language ids `exec languages` lists (its first column), for the
# registry named on the line, if any. Kept for the shell's life, per program
# and registry: without root's compile cache the listing probes every
# toolchain's version.
function __execctl_languages
    set -l line (commandline -opc)
    set -l program $line[1]
    set -l args
    if set -l i (contains -i -- --languages $line); and test $i -lt (count $line)
        set args --languages $line[(math $i + 1)]
    end
    set -l key "$program $args"
    if test "$key" != "$__execctl_languages_key"
        set -g __execctl_languages_ids ($program $args languages 2>/dev/null | tail -n +2 | string replace -r ' .*' '')
        set -g __execctl_languages_key $key
    end
    printf '%s\n' $__execctl_languages_ids
end

set -l commands run languages submit status wait cancel test warm
set -l no_command "not __fish_seen_subcommand_from $commands"

complete -c execctl -f
complete -c execctl -n $no_command -a run -d 'Run a source file in a fresh sandbox'
complete -c execctl -n $no_command -a languages -d 'List the languages and whether they are usable here'
complete -c execctl -n $no_command -a submit -d 'Queue a source file on an execd server'
complete -c execctl -n $no_command -a status -d "Print a job's state from an execd server"
complete -c execctl -n $no_command -a wait -d 'Wait for a job on an execd server'
complete -c execctl -n $no_command -a cancel -d 'Cancel a job on an execd server'
complete -c execctl -n $no_command -a test -d 'Run a solution against a directory of tests'
complete -c execctl -n $no_command -a warm -d 'Show the warm sandboxes, or --stop them'

# Global options, accepted before or after the command.
complete -c execctl -l languages -r -F -d 'Language registry file'
complete -c execctl -l state-dir -x -a '(__fish_complete_directories)' -d 'Sandbox state directory'
complete -c execctl -l instance -x -d 'Run the local engine as this named instance'
complete -c execctl -l server -x -a 'unix:/run/execd/api.sock http://127.0.0.1:3001' -d 'execd server'
complete -c execctl -l token -x -d 'API token for the server'
complete -c execctl -l token-file -r -F -d 'Read the API token from this file'
complete -c execctl -l local -d 'Always run on this host with the embedded engine'
complete -c execctl -l no-cache -d 'Do not use the compile cache'
complete -c execctl -l warm -x -d 'Keep the sandbox warm for SECONDS after the last job'
complete -c execctl -s h -l help -d 'Print help and exit'
complete -c execctl -l version -d 'Print the version and exit'

# What run, submit and test share: the source file and the limits.
set -l job "__fish_seen_subcommand_from run submit test"
complete -c execctl -n $job -F
complete -c execctl -n $job -s l -l lang -x -a '(__execctl_languages)' -d 'Language id or alias'
complete -c execctl -n $job -s t -l time -x -d 'Wall-clock limit (ms)'
complete -c execctl -n $job -l cpu -x -d 'CPU time limit (ms)'
complete -c execctl -n $job -s m -l memory -x -d 'Memory limit (MB)'
complete -c execctl -n $job -s p -l pids -x -d 'Process and thread limit'
complete -c execctl -n $job -s o -l output -x -d 'Output limit (bytes)'

complete -c execctl -n "__fish_seen_subcommand_from run" -l json -d 'Print the whole result as JSON'
complete -c execctl -n "__fish_seen_subcommand_from run" -l tests -x -a '(__fish_complete_directories)' \
    -d 'Grade against this directory of tests'
complete -c execctl -n "__fish_seen_subcommand_from submit" -l metadata -x -d 'JSON object stored with the job'
complete -c execctl -n "__fish_seen_subcommand_from test" -s T -l tests -x -a '(__fish_complete_directories)' \
    -d 'Directory of tests'
complete -c execctl -n "__fish_seen_subcommand_from test" -l junit -r -F -d 'Also write a JUnit XML report here'
complete -c execctl -n "__fish_seen_subcommand_from test" -l suite -x -d 'Test suite name in the JUnit report'
complete -c execctl -n "__fish_seen_subcommand_from test" -l tap -d 'Print TAP version 13'
complete -c execctl -n "__fish_seen_subcommand_from test" -l json -d 'Print the result as JSON'
complete -c execctl -n "__fish_seen_subcommand_from test" -s x -l stop-on-failure \
    -d 'Skip the remaining tests after the first failure'
complete -c execctl -n "__fish_seen_subcommand_from languages wait" -l json -d 'Print JSON'
complete -c execctl -n "__fish_seen_subcommand_from warm" -l stop -d 'End them (running jobs finish first)'
