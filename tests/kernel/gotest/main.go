// tests/kernel/gotest — a real Go program for the kernel checks (tests/kernel/check.sh):
// prints what the Go runtime made of its environment, the values GOMAXPROCS and GOMEMLIMIT
// that armlet-init exported from the cgroup limits:
//
//	gomaxprocs=N memlimit=BYTES
//
// Cross-compiled with Debian's Go, CGO_ENABLED=0, for arm64, arm GOARM=7 and arm GOARM=6.
package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
)

func main() {
	limit := debug.SetMemoryLimit(-1) // -1 reads the limit without changing it
	s := fmt.Sprint(limit)
	if limit == math.MaxInt64 {
		s = "none"
	}
	fmt.Printf("gomaxprocs=%d memlimit=%s\n", runtime.GOMAXPROCS(0), s)
}
