;; Copy standard input to standard output, byte for byte.
(let [buf (byte-array 4096)]
  (loop []
    (let [n (.read System/in buf)]
      (when (pos? n)
        (.write System/out buf 0 n)
        (recur)))))
(.flush System/out)
