(format *error-output* "error: something went wrong~%")
(sb-ext:exit :code 3)
