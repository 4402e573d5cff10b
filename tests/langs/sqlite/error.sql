.output /dev/stderr
SELECT 'error: something went wrong';
.exit 3
