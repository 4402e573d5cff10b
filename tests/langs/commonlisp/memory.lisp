;;; Keeps 1 MB byte vectors until 1 GB, each filled.
(let ((kept (loop for i below 1024
                  collect (make-array (expt 2 20) :element-type '(unsigned-byte 8)
                                                  :initial-element (1+ (mod i 255))))))
  (format t "kept ~D MB~%" (length kept)))
