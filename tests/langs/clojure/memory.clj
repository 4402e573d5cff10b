;; Keeps 1 MB arrays until 1 GB: past any limit the registry gives Clojure.
(let [kept (java.util.ArrayList.)]
  (dotimes [_ 1024]
    (let [block (byte-array (bit-shift-left 1 20))]
      (loop [j 0]
        (when (< j (alength block))
          (aset-byte block j 1)
          (recur (+ j 4096))))
      (.add kept block)))
  (println "kept" (.size kept) "MB"))
