# Keeps 1 MB strings until 1 GB.
set kept {}
for {set i 0} {$i < 1024} {incr i} {
    lappend kept [string repeat [format %c [expr {$i % 127 + 1}]] 1048576]
}
puts "kept [llength $kept] MB"
