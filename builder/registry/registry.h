/* builder/registry/registry.h — talking HTTP to an OCI distribution registry, with libcurl.
 *
 * Lifecycle:
 *     struct registry *reg;
 *     registry_open(&ref, &opts, &reg, e);     // picks http/https, pings /v2/, authenticates
 *     CURL *h = registry_conn(reg, e);          // one per thread; curl_easy_cleanup() it
 *     registry_do(reg, h, "HEAD", "/v2/<repo>/blobs/<digest>", &req, &resp, e);
 *     ...
 *     registry_close(reg);
 *
 * The registry object is shared by threads: its auth state is guarded by a mutex, and
 * a 401 from any request makes the first thread that sees it renew the token (Bearer,
 * from the challenge's realm, scope repository:<repo>:pull,push plus any extra scope)
 * or switch to Basic; the request is then sent once more. Everything else (5xx, 429,
 * dropped connections) is the caller's to retry: registry_do_retry() for idempotent
 * requests, or its own loop with registry_backoff(), because only the caller knows
 * whether a request is idempotent.
 *
 * Scheme: https with the system CA store (or opts.ca_cert). opts.insecure means plain
 * http. A loopback registry (a literal localhost, 127.0.0.0/8, [::1]) without --insecure
 * is tried with https first and falls back to http when the server does not speak TLS,
 * as crane/go-containerregistry do; any other host is never contacted over plain http
 * unless asked. Secrets (passwords, tokens, Authorization headers) are never logged,
 * even with opts.verbose, which logs one line per request: method, path, status.
 *
 * What a hostile registry cannot do (docs/README-push.md, "Security"):
 *   - make armlet use any scheme but http and https: every handle has libcurl's protocol
 *     allow-list for requests and redirects, redirects are not followed, and a Location
 *     header or a token realm is resolved and checked by url.h before it is used;
 *   - get credentials sent elsewhere: the Authorization header (Basic or Bearer) goes
 *     only to the registry's own origin; Basic credentials (or an identity token, POSTed
 *     as an OAuth2 refresh token) go to a token realm only over https, over http to a
 *     literal loopback address, or to the --insecure registry's own host; a 401 from another host (a storage Location) is an error, never a reason to
 *     authenticate; a token must be printable ASCII (no CR/LF) before it becomes a header;
 *   - hang armlet or fill its memory: a request fails when nothing moves for
 *     opts.timeout seconds, and after 5 * timeout seconds (plus one second per 16 KiB of
 *     body for uploads); reply bodies past 1 MiB, header blocks past 128 KiB and header
 *     values that do not fit their field end the request with an error;
 *   - write on the terminal: server text in messages goes through safetext_escape(). */
#ifndef ARMLET_REGISTRY_H
#define ARMLET_REGISTRY_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <curl/curl.h>

#include "registry/auth.h"
#include "util/error.h"
#include "registry/reference.h"

struct registry_opts {
    const char *ca_cert;            /* PEM bundle to trust instead of the system store */
    bool insecure;                  /* plain http */
    struct err_out verbose;         /* one line per request, secrets never (say NULL: quiet) */
    int retries;                    /* for registry_do_retry and the initial ping */
    const struct auth_creds *creds; /* NULL or unset = anonymous */
    const char *extra_scope;        /* e.g. "repository:other:pull" for mounts, or NULL */
    long timeout;                   /* seconds without progress before a request fails (0 = 60) */
};

struct registry;

/* Request body: either memory (mem, len) or a file range (fd, off, len); a NULL
 * request body pointer means no body. on_read(arg, n) is told of every n bytes sent. */
struct reg_body {
    const char *mem;
    int fd;
    off_t off;
    off_t len;
    void (*on_read)(void *arg, size_t n);
    void *arg;
};

struct reg_req {
    const char *content_type;       /* or NULL */
    const char *accept;             /* Accept header value, or NULL */
    const char *content_range;      /* "start-end" for PATCH, or NULL */
    const char *range;              /* "start-end" bytes to GET (Range header), or NULL */
    const struct reg_body *body;    /* or NULL */
    /* GET of a blob: a 2xx reply's body goes to sink(sink_arg, data, n) instead of
     * resp->body, without the 1 MiB cap (the caller bounds and verifies it); sink
     * returns 0, or -1 to stop the transfer (a transport error). Other replies' bodies
     * are kept in resp->body as usual. NULL: no sink. */
    int (*sink)(void *arg, const void *data, size_t n);
    void *sink_arg;
};

/* Reply body bytes kept (for error messages and token replies: a 64 KiB token may come
 * twice, as "token" and "access_token", plus the rest of the JSON). */
#define REG_BODY_KEEP ((size_t)192 << 10)

/* Longest Location kept (pre-signed storage URLs with session tokens run to a few KiB). */
#define REG_URL_MAX 8192

struct reg_resp {
    long status;                    /* HTTP status; 0 when no response (transport error) */
    bool transient;                 /* a retry may succeed: 5xx, 429, dropped connection */
    int curl_code;                  /* CURLcode of a transport failure, else 0 */
    long retry_after;               /* seconds from Retry-After, or 0 */
    char location[REG_URL_MAX];     /* Location resolved against the request URL and
                                       checked (http/https, see url.h), or "" */
    char digest[256];               /* Docker-Content-Digest, or "" */
    long chunk_min;                 /* OCI-Chunk-Min-Length, or 0 */
    char challenge[4096];           /* WWW-Authenticate, or "" */
    char body[REG_BODY_KEEP + 1];   /* first REG_BODY_KEEP bytes of the body, NUL-terminated */
    size_t body_len;
    bool body_cut;                  /* the body was longer than that (the rest dropped) */
    /* while receiving: why the reply was refused (limits above), or "" */
    char refused[128];
    size_t header_bytes, body_bytes;
};

/* Open: resolve the scheme, GET /v2/ (retrying transient failures), authenticate if
 * challenged. Returns 0 with *out set (free with registry_close), or ERR naming the
 * registry and what failed (connection refused, TLS trust, credentials rejected). */
__attribute__((warn_unused_result))
int registry_open(const struct ref *r, const struct registry_opts *o, struct registry **out,
                  struct err *e);

/* registry_open with the user's credentials: userpass ("USER:PASS", --creds) when not
 * NULL, else what auth_creds_find() finds for r's domain (auth.h's order; none: anonymous).
 * o->creds is not read. The credentials are wiped before it returns. 0 or ERR (also when
 * --creds is malformed or a credential file or helper fails). */
__attribute__((warn_unused_result))
int registry_open_user(const struct ref *r, const char *userpass, const struct registry_opts *o,
                       struct registry **out, struct err *e);
void registry_close(struct registry *reg);

/* A new easy handle with the registry's TLS and timeout settings (caller cleans up),
 * or NULL with e set. */
CURL *registry_conn(struct registry *reg, struct err *e);

/* One request (plus one re-send after re-authentication on 401). url is a path
 * ("/v2/...") or an absolute URL (a Location). Returns 0 when a response arrived —
 * whatever its status — with *resp filled; ERR with resp->status 0 on a transport
 * failure (resp->transient says whether retrying makes sense), when authentication
 * fails, or when the reply is refused (a bad Location, a limit). */
int registry_do(struct registry *reg, CURL *h, const char *method, const char *url,
                const struct reg_req *req, struct reg_resp *resp, struct err *e);

/* registry_do, retried with backoff while the failure is transient (idempotent
 * requests only: HEAD, GET, PUT of a manifest). */
int registry_do_retry(struct registry *reg, CURL *h, const char *method, const char *url,
                      const struct reg_req *req, struct reg_resp *resp, struct err *e);

/* Sleep before retry number attempt (1, 2, ...): 250 ms doubling, at most 8 s, or the
 * server's Retry-After (at most 30 s). */
void registry_backoff(int attempt, long retry_after);
/* Number of retries configured. */
int registry_retries(const struct registry *reg);

/* "HTTP 400: DIGEST_INVALID: provided digest did not match" from a response, into buf;
 * the registry's code and message escaped (safetext.h). */
const char *registry_describe(const struct reg_resp *resp, char *buf, size_t n);

/* "http://127.0.0.1:5000" — the base URL in use. */
const char *registry_base(const struct registry *reg);

/* Count of requests sent, by method, since open (for --verbose summaries and tests). */
unsigned long registry_requests(const struct registry *reg);

#endif
