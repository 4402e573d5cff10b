<?php
fwrite(STDERR, "error: something went wrong\n");
exit(3);
