# bash completion for execctl (installed as
# <datadir>/bash-completion/completions/execctl). `exec` is the same program,
# but typed bare in a shell it is the shell's builtin, whose completion stays
# the shell's. Needs nothing from the bash-completion package.

# The language ids `exec languages` lists (its first column), for the
# registry named on the line, if any. Kept for the shell's life, per program
# and registry: without root's compile cache the listing probes every
# toolchain's version.
_execctl_languages() {
    local program=$1 registry=$2 key=$1$'\n'$2
    if [[ ${_execctl_languages_key-} != "$key" ]]; then
        local -a args=()
        [[ -n $registry ]] && args=(--languages "$registry")
        _execctl_languages_ids=$("$program" "${args[@]}" languages 2>/dev/null | tail -n +2 | cut -d ' ' -f 1)
        _execctl_languages_key=$key
    fi
    printf '%s\n' "$_execctl_languages_ids"
}

_execctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    # --opt=value: bash splits at '=' (COMP_WORDBREAKS).
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi

    local globals="--languages --state-dir --instance --server --token --token-file --local --no-cache --warm
                   --help --version"
    local commands="run languages submit status wait cancel test warm"
    local job="--lang --time --cpu --memory --pids --output"

    local i word command="" registry="" after_dashes=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -- ]]; then
            after_dashes=1
            break
        fi
        case $word in
            # An option's value is not the command.
            --languages | --state-dir | --instance | --server | --token | --token-file | --warm | -l | --lang | \
                -t | --time | --cpu | -m | --memory | -p | --pids | -o | --output | --tests | -T | --junit | \
                --suite | --metadata)
                [[ $word == --languages ]] && registry=${COMP_WORDS[i + 1]}
                [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
                ((i++))
                ;;
            -*) ;;
            *) [[ -z $command && " $commands " == *" $word "* ]] && command=$word ;;
        esac
    done
    registry=${registry/#\~/$HOME}

    # Arguments of the program after `--`: files.
    if [[ -n $after_dashes ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi

    case $prev in
        --languages | --token-file | --junit)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        --state-dir | --tests | -T)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
        -l | --lang)
            local program=${COMP_WORDS[0]/#\~/$HOME}
            mapfile -t COMPREPLY < <(compgen -W "$(_execctl_languages "$program" "$registry")" -- "$cur")
            return
            ;;
        --server)
            mapfile -t COMPREPLY < <(compgen -W "unix:/run/execd/api.sock http://127.0.0.1:3001" -- "$cur")
            return
            ;;
        --instance | --token | --warm | -t | --time | --cpu | -m | --memory | -p | --pids | -o | --output | \
            --suite | --metadata)
            COMPREPLY=()
            return
            ;;
    esac

    local options=""
    case $command in
        "") options="" ;;
        run) options="$job --json --tests" ;;
        submit) options="$job --metadata" ;;
        test) options="$job --tests --junit --suite --tap --json --stop-on-failure" ;;
        languages | wait) options="--json" ;;
        warm) options="--stop" ;;
    esac

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options $globals" -- "$cur")
    elif [[ -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
    elif [[ $command == run || $command == submit || $command == test ]]; then
        # The source file or directory.
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    else
        COMPREPLY=()
    fi
}

complete -F _execctl execctl
