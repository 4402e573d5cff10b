(format *error-output* "error: something went wrong~%")
(finish-output *error-output*)
(ext:quit 3)
