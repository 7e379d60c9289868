// go-app — the example program of recipes/Dockerfile.go-app: compiled per TARGETARCH /
// TARGETVARIANT in the Dockerfile's first stage, packaged by `armlet build --rootfs`.
//
// It says which platform it was built for, its PID, and what PID 1 is, then exits 0:
//
//	go-app linux/arm GOARM=6 pid=2 uid=65532 pid1=/sbin/armlet-init --cpu=floor ... -- /app
//
// (pid1 is PID 1's whole command line: under qemu binfmt it starts with qemu's path.)
//
// Arguments are echoed on a second line. Only fmt and os: a cold cross-compile of it
// takes seconds, not the minute net/http would.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// goarm is set with -ldflags "-X main.goarm=$GOARM" by the Dockerfile ("" on non-ARM).
var goarm = ""

func line() string {
	pid1 := "?"
	if b, err := os.ReadFile("/proc/1/cmdline"); err == nil {
		pid1 = string(bytes.TrimSpace(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
	}
	arm := ""
	if runtime.GOARCH == "arm" {
		arm = " GOARM=" + goarm
	}
	return fmt.Sprintf("go-app %s/%s%s pid=%d uid=%d pid1=%s", runtime.GOOS, runtime.GOARCH, arm,
		os.Getpid(), os.Getuid(), pid1)
}

func main() {
	fmt.Println(line())
	if len(os.Args) > 1 {
		fmt.Println("args:", strings.Join(os.Args[1:], " "))
	}
}
