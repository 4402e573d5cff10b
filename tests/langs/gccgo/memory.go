package main

import "fmt"

// Keeps 1 MB slices until 1 GB, each page written (fresh memory from the
// system is not touched by the allocator): past any limit the registry gives Go.
func main() {
	var kept [][]byte
	for i := 0; i < 1024; i++ {
		block := make([]byte, 1<<20)
		for j := 0; j < len(block); j += 4096 {
			block[j] = 1
		}
		kept = append(kept, block)
	}
	fmt.Println("kept", len(kept), "MB")
}
