/* init/probe.h — `armlet-init probe URL [--timeout D]`: a health check for images that
 * have no shell and no curl (the image config's Healthcheck runs it, see build.c).
 *
 *   http://HOST:PORT/PATH   GET PATH (HTTP/1.0); a 2xx or 3xx status line is healthy
 *   tcp://HOST:PORT         a completed TCP connect is healthy
 *
 * HOST is a numeric IPv4 address, a bracketed IPv6 address ([::1]) or "localhost"
 * (127.0.0.1, then ::1): the init carries no DNS resolver. PORT defaults to 80 for http.
 * --timeout bounds the whole probe (connect + request + status line), default 5s.
 *
 * Exit status: 0 healthy (one line on stdout: "probe: URL: 200 OK"), 1 anything else,
 * with one line on stderr saying why ("armlet-init: probe: URL: 404 Not Found",
 * "connection refused", "timed out after 2s", or a usage error). Never 2: Docker reserves
 * it for HEALTHCHECK commands. No heap; every buffer is on the stack.
 */
#ifndef ARMLET_INIT_PROBE_H
#define ARMLET_INIT_PROBE_H

/* argv[0] is "probe". Returns the exit status (0 or 1). */
int probe_main(int argc, char **argv);

#endif
