/* Copy stdin to stdout byte for byte: charin() raises NOTREADY at its end. */
signal on notready name done
do forever
    call charout , charin()
end
done:
exit 0
