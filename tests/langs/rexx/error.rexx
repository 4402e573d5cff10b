call lineout '<stderr>', 'error: something went wrong'
exit 3
