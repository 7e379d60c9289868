/* builder/registry/credhelper.h — Docker credential helpers (`credsStore`, `credHelpers`).
 *
 * Lifecycle: one call, nothing kept. credhelper_get() runs `docker-credential-NAME get`
 * (found in PATH), writes the server address on its stdin, reads its stdout and parses
 * the JSON a helper prints, {"ServerURL": ..., "Username": ..., "Secret": ...}, as the
 * docker-credential-helpers protocol defines. Username "<token>" means the Secret is an
 * identity token (OAuth2 refresh token), as Docker reads it.
 *
 * The helper is a program named by a config file, so its output is treated as hostile:
 *   - NAME must be letters, digits, '.', '_' or '-' (no path: "../x" cannot name a file);
 *   - it gets "get" and nothing else on its command line (credentials never on argv);
 *   - stdout is read up to 1 MiB and stderr up to 4 KiB, then the helper is killed;
 *   - it must answer within $ARMLET_CREDENTIAL_HELPER_TIMEOUT seconds (default 30), or
 *     it and its process group are killed and the error names it;
 *   - its JSON is checked: an object, string Username (< 256 bytes, no ':') and Secret
 *     (1 byte .. 64 KiB), no NUL byte; anything else is an error that names the helper
 *     but never quotes the output (it may hold a secret);
 *   - its own messages (a non-zero exit) are quoted escaped (safetext.h) and cut.
 * Returns 1 with *c filled, 0 when the helper says it has no credentials for the server
 * ("credentials not found"), ERR otherwise. c->source is `what`, e.g.
 * "docker-credential-ecr-login (credHelpers of /root/.docker/config.json)". */
#ifndef ARMLET_CREDHELPER_H
#define ARMLET_CREDHELPER_H
#include "registry/auth.h"
#include "util/error.h"

__attribute__((warn_unused_result))
int credhelper_get(const char *name, const char *server, const char *what, struct auth_creds *c,
                   struct err *e);

#endif
