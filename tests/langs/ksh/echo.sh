while IFS= read -r line; do
    printf '%s\n' "$line"
done
# a last line without a trailing newline is left in $line
[[ -n $line ]] && printf '%s' "$line"
exit 0
