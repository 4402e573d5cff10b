note "error: something went wrong";
exit 3;
