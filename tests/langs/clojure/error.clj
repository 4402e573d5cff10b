(binding [*out* *err*] (println "error: something went wrong"))
(System/exit 3)
