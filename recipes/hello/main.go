// hello: a tiny HTTP server for armlet's example image.
//
// GET /         -> "hello from <GOARCH><v GOARM> pid=<pid> uid=<uid>\n"
// GET /healthz  -> 200 "ok\n"
// GET /init     -> "ppid=<parent pid> pid1=<command line of PID 1>\n" (NULs shown as
//                  spaces), so a user can see which process is PID 1 in the container
//                  and that it is the server's parent.
//
// Listens on :8080, or on the address given by --listen ADDR or $HELLO_LISTEN.
package main

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// platform is GOARCH plus "v"+GOARM on 32-bit ARM ("amd64", "arm64", "armv7", "armv6"),
// read from the build settings Go records in the binary.
func platform() string {
	p := runtime.GOARCH
	if p != "arm" {
		return p
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" {
				return p + "v" + s.Value
			}
		}
	}
	return p
}

func main() {
	addr := ":8080"
	if v := os.Getenv("HELLO_LISTEN"); v != "" {
		addr = v
	}
	for i := 1; i < len(os.Args); i++ {
		switch os.Args[i] {
		case "--listen":
			if i+1 < len(os.Args) {
				addr = os.Args[i+1]
				i++
			}
		case "--help", "-h":
			fmt.Println("usage: hello [--listen ADDR]   (default :8080, or $HELLO_LISTEN)")
			return
		}
	}
	plat := platform()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "hello from %s pid=%d uid=%d\n", plat, os.Getpid(), os.Getuid())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/init", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile("/proc/1/cmdline")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "ppid=%d pid1=%s\n", os.Getppid(),
			bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
	})

	// Exit 0 on SIGTERM/SIGINT so a container stop is a clean exit.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sig
		log.Printf("hello: %v, exiting", s)
		os.Exit(0)
	}()

	log.Printf("hello: %s listening on %s (pid %d, uid %d, GOMAXPROCS %d)",
		plat, addr, os.Getpid(), os.Getuid(), runtime.GOMAXPROCS(0))
	log.Fatal(http.ListenAndServe(addr, mux))
}
