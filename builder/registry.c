/* builder/registry.c — see registry.h for the lifecycle and the rules. */
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "armlet_shared.h"
#include "cleanup.h"

struct registry {
    char base[600];            /* scheme://host */
    char host[256];
    char repo[256];
    char ca_cert[4096];
    char extra_scope[1024];
    bool verbose;
    int retries;
    struct auth_creds creds;

    pthread_mutex_t mu;        /* guards auth and auth_gen */
    char *auth;                /* "Authorization: ..." header, or NULL (secret) */
    unsigned auth_gen;         /* bumped whenever auth changes */
    atomic_ulong nreq;
};

static void cleanup_curlp(CURL **h)
{
    if (*h)
        curl_easy_cleanup(*h);
}
#define cleanup_curl __attribute__((cleanup(cleanup_curlp)))

static void cleanup_slistp(struct curl_slist **l)
{
    if (*l)
        curl_slist_free_all(*l);
}
#define cleanup_slist __attribute__((cleanup(cleanup_slistp)))

/* Free a secret string after wiping it. */
static void cleanup_secretp(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
    }
}
#define cleanup_secret __attribute__((cleanup(cleanup_secretp)))

const char *registry_base(const struct registry *reg) { return reg->base; }
int registry_retries(const struct registry *reg) { return reg->retries; }
unsigned long registry_requests(const struct registry *reg) { return atomic_load(&reg->nreq); }

/* ---------------------------------------------------------------- curl plumbing */

static void apply_common(struct registry *reg, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    /* A stalled transfer (no byte for 60 s) counts as a dropped connection. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "armlet/" ARMLET_VERSION);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (reg->ca_cert[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, reg->ca_cert);
}

CURL *registry_conn(struct registry *reg, struct err *e)
{
    CURL *h = curl_easy_init();
    if (!h) {
        err_set(e, "cannot create an HTTP handle (libcurl)");
        return NULL;
    }
    apply_common(reg, h);
    return h;
}

struct body_cursor {
    const struct reg_body *b;
    off_t pos;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct body_cursor *c = arg;
    size_t want = size * nitems;
    off_t left = c->b->len - c->pos;
    if ((off_t)want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    if (c->b->mem) {
        memcpy(buf, c->b->mem + c->pos, want);
    } else {
        ssize_t n = pread(c->b->fd, buf, want, c->b->off + c->pos);
        if (n <= 0)
            return CURL_READFUNC_ABORT;
        want = (size_t)n;
    }
    c->pos += (off_t)want;
    if (c->b->on_read)
        c->b->on_read(c->b->arg, want);
    return want;
}

static int seek_cb(void *arg, curl_off_t offset, int origin)
{
    struct body_cursor *c = arg;
    if (origin != SEEK_SET || offset < 0 || offset > c->b->len)
        return CURL_SEEKFUNC_FAIL;
    c->pos = (off_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct reg_resp *r = arg;
    size_t n = size * nmemb, room = sizeof r->body - 1 - r->body_len;
    size_t take = n < room ? n : room;
    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copy a header's value (trimmed) if line starts with name. */
static bool header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

struct hdr_ctx {
    struct reg_resp *r;
    const char *base;
};

static size_t header_cb(char *line, size_t size, size_t nitems, void *arg)
{
    struct hdr_ctx *hc = arg;
    struct reg_resp *r = hc->r;
    size_t n = size * nitems;
    char tmp[4096];
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* a new response (after 100 Continue or a redirect): forget the last one's */
        r->location[0] = r->digest[0] = r->challenge[0] = '\0';
        r->chunk_min = r->retry_after = 0;
    } else if (header_value(line, n, "Location", tmp, sizeof tmp)) {
        if (tmp[0] == '/')
            snprintf(r->location, sizeof r->location, "%s%s", hc->base, tmp);
        else
            snprintf(r->location, sizeof r->location, "%.*s", (int)sizeof r->location - 1, tmp);
    } else if (header_value(line, n, "Docker-Content-Digest", tmp, sizeof tmp)) {
        snprintf(r->digest, sizeof r->digest, "%.*s", (int)sizeof r->digest - 1, tmp);
    } else if (header_value(line, n, "OCI-Chunk-Min-Length", tmp, sizeof tmp)) {
        r->chunk_min = strtol(tmp, NULL, 10);
    } else if (header_value(line, n, "Retry-After", tmp, sizeof tmp)) {
        r->retry_after = strtol(tmp, NULL, 10);
    } else if (header_value(line, n, "WWW-Authenticate", tmp, sizeof tmp)) {
        snprintf(r->challenge, sizeof r->challenge, "%.*s", (int)sizeof r->challenge - 1, tmp);
    }
    return n;
}

static bool curl_transient(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* The path of a URL without scheme, host and query: for messages. */
static void url_path(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    if (!p)
        p = "/";
    size_t n = strcspn(p, "?");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* One HTTP exchange with the given Authorization header (or none). */
static int perform(struct registry *reg, CURL *h, const char *method, const char *url,
                   const struct reg_req *req, const char *auth, struct reg_resp *resp,
                   CURLcode *code, struct err *e)
{
    memset(resp, 0, sizeof *resp);
    curl_easy_reset(h);
    apply_common(reg, h);
    char full[8192];
    if (url[0] == '/')
        snprintf(full, sizeof full, "%s%s", reg->base, url);
    else
        snprintf(full, sizeof full, "%s", url);
    char path[1024];
    url_path(full, path, sizeof path);

    cleanup_slist struct curl_slist *hdrs = NULL;
    char line[512];
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (req && req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, line);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:");
    }
    if (req && req->accept) {
        snprintf(line, sizeof line, "Accept: %s", req->accept);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req && req->content_range) {
        snprintf(line, sizeof line, "Content-Range: %s", req->content_range);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    if (!hdrs)
        return err_set(e, "out of memory");

    struct body_cursor cur = {req ? req->body : NULL, 0};
    struct hdr_ctx hc = {resp, reg->base};
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hc);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (cur.b) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)cur.b->len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, &cur);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &cur);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    atomic_fetch_add(&reg->nreq, 1);
    *code = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (*code != CURLE_OK) {
        resp->status = 0;
        resp->curl_code = (int)*code;
        resp->transient = curl_transient(*code);
        if (reg->verbose)
            fprintf(stderr, "armlet: %s %s -> %s\n", method, path, curl_easy_strerror(*code));
        if (*code == CURLE_PEER_FAILED_VERIFICATION)
            return err_set(e, "%s: TLS certificate not trusted (%s); for a private CA pass --ca-cert FILE",
                           reg->host, errbuf[0] ? errbuf : curl_easy_strerror(*code));
        if (*code == CURLE_COULDNT_CONNECT || *code == CURLE_COULDNT_RESOLVE_HOST)
            return err_set(e, "cannot connect to registry %s: %s", reg->host,
                           errbuf[0] ? errbuf : curl_easy_strerror(*code));
        return err_set(e, "%s %s%s: %s", method, reg->host, path, errbuf[0] ? errbuf : curl_easy_strerror(*code));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->transient = resp->status >= 500 || resp->status == 429;
    if (reg->verbose)
        fprintf(stderr, "armlet: %s %s -> %ld\n", method, path, resp->status);
    return 0;
}

/* ---------------------------------------------------------------- authentication */

static char *url_escape(const char *s)
{
    return curl_easy_escape(NULL, s, 0);
}

/* Append "&scope=<escaped>" to buf for each space-separated scope in s not yet there. */
static void add_scopes(char *buf, size_t cap, const char *s)
{
    char one[1024];
    while (*s) {
        size_t n = strcspn(s, " ");
        if (n > 0 && n < sizeof one) {
            memcpy(one, s, n);
            one[n] = '\0';
            char *esc = url_escape(one);
            if (esc && !strstr(buf, esc)) {
                size_t len = strlen(buf);
                snprintf(buf + len, cap - len, "%sscope=%s", strchr(buf, '?') ? "&" : "?", esc);
            }
            curl_free(esc);
        }
        s += n;
        while (*s == ' ')
            s++;
    }
}

/* Ask the Bearer realm for a token; returns the Authorization header (caller frees). */
static int fetch_token(struct registry *reg, const struct auth_challenge *ch, char **out, struct err *e)
{
    cleanup_curl CURL *h = registry_conn(reg, e);
    if (!h)
        return ERR;
    char url[8192];
    snprintf(url, sizeof url, "%s", ch->realm);
    if (ch->service[0]) {
        char *esc = url_escape(ch->service);
        size_t len = strlen(url);
        snprintf(url + len, sizeof url - len, "%sservice=%s", strchr(url, '?') ? "&" : "?", esc ? esc : "");
        curl_free(esc);
    }
    char scope[1400];
    snprintf(scope, sizeof scope, "repository:%s:pull,push", reg->repo);
    add_scopes(url, sizeof url, scope);
    add_scopes(url, sizeof url, reg->extra_scope);
    add_scopes(url, sizeof url, ch->scope);

    cleanup_secret char *basic = reg->creds.set ? auth_basic_header(&reg->creds) : NULL;
    struct reg_resp resp;
    CURLcode code;
    if (perform(reg, h, "GET", url, NULL, basic, &resp, &code, e) < 0)
        return err_ctx(e, "token server %s", ch->realm);
    if (resp.status == 401 || resp.status == 403) {
        if (reg->creds.set)
            return err_set(e, "%s: credentials from %s rejected by token server %s (HTTP %ld)",
                           reg->host, reg->creds.source, ch->realm, resp.status);
        return err_set(e, "%s: token server %s refused anonymous access (HTTP %ld); give --creds USER:PASS, "
                       "ARMLET_REGISTRY_CREDS or a docker config entry", reg->host, ch->realm, resp.status);
    }
    if (resp.status != 200)
        return err_set(e, "%s: token server %s answered HTTP %ld", reg->host, ch->realm, resp.status);
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(resp.body, resp.body_len, 0, &je);
    const char *tok = json_string_value(json_object_get(doc, "token"));
    if (!tok || !*tok)
        tok = json_string_value(json_object_get(doc, "access_token"));
    if (!tok || !*tok)
        return err_set(e, "%s: token server %s: reply has no \"token\"", reg->host, ch->realm);
    if (asprintf(out, "Authorization: Bearer %s", tok) < 0)
        return err_set(e, "out of memory");
    explicit_bzero(resp.body, resp.body_len);
    return 0;
}

/* Handle a 401 seen by a request sent with auth generation gen. */
static int authenticate(struct registry *reg, unsigned gen, const char *challenge, struct err *e)
{
    pthread_mutex_lock(&reg->mu);
    int rc = 0;
    if (reg->auth_gen != gen)
        goto out;   /* another thread renewed it meanwhile: just resend */
    struct auth_challenge ch;
    if (auth_parse_challenge(challenge, &ch) < 0) {
        rc = err_set(e, "%s: authentication required, but the challenge \"%.200s\" names no Basic or Bearer scheme",
                     reg->host, challenge);
        goto out;
    }
    char *hdr = NULL;
    if (ch.scheme == AUTH_BASIC) {
        if (!reg->creds.set) {
            rc = err_set(e, "%s: authentication required (Basic): give --creds USER:PASS, "
                         "ARMLET_REGISTRY_CREDS or a docker config entry", reg->host);
            goto out;
        }
        if (reg->auth && !strncmp(reg->auth, "Authorization: Basic ", 21)) {
            rc = err_set(e, "%s: credentials from %s rejected (HTTP 401)", reg->host, reg->creds.source);
            goto out;
        }
        hdr = auth_basic_header(&reg->creds);
        if (!hdr) {
            rc = err_set(e, "out of memory");
            goto out;
        }
    } else {
        if (!ch.realm[0]) {
            rc = err_set(e, "%s: Bearer challenge without a realm", reg->host);
            goto out;
        }
        if (fetch_token(reg, &ch, &hdr, e) < 0) {
            rc = ERR;
            goto out;
        }
    }
    cleanup_secretp(&reg->auth);
    reg->auth = hdr;
    reg->auth_gen++;
out:
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

static char *auth_snapshot(struct registry *reg, unsigned *gen)
{
    pthread_mutex_lock(&reg->mu);
    char *a = reg->auth ? strdup(reg->auth) : NULL;
    *gen = reg->auth_gen;
    pthread_mutex_unlock(&reg->mu);
    return a;
}

/* Credentials go only to the registry itself: an upload Location on another host (a
 * storage redirect) gets none, as Docker does. */
static bool same_origin(const struct registry *reg, const char *url)
{
    size_t n = strlen(reg->base);
    return url[0] == '/' || (!strncmp(url, reg->base, n) && (url[n] == '/' || url[n] == '\0'));
}

int registry_do(struct registry *reg, CURL *h, const char *method, const char *url,
                const struct reg_req *req, struct reg_resp *resp, struct err *e)
{
    for (int round = 0;; round++) {
        unsigned gen;
        cleanup_secret char *auth = auth_snapshot(reg, &gen);
        CURLcode code;
        if (perform(reg, h, method, url, req, same_origin(reg, url) ? auth : NULL, resp, &code, e) < 0)
            return ERR;
        if (resp->status != 401)
            return 0;
        if (round == 1) {
            bool basic = auth && !strncmp(auth, "Authorization: Basic ", 21);
            if (basic)
                return err_set(e, "%s: credentials from %s rejected (HTTP 401)", reg->host, reg->creds.source);
            return err_set(e, "%s: %s %s: unauthorized even with the token from the realm (HTTP 401)%s",
                           reg->host, method, reg->repo, reg->creds.set ? "" :
                           "; give --creds USER:PASS, ARMLET_REGISTRY_CREDS or a docker config entry");
        }
        if (!resp->challenge[0])
            return err_set(e, "%s: HTTP 401 without a WWW-Authenticate challenge", reg->host);
        if (authenticate(reg, gen, resp->challenge, e) < 0)
            return ERR;
    }
}

void registry_backoff(int attempt, long retry_after)
{
    long ms;
    if (retry_after > 0)
        ms = (retry_after > 30 ? 30 : retry_after) * 1000;
    else {
        int shift = attempt > 6 ? 6 : (attempt < 1 ? 0 : attempt - 1);
        ms = 250L << shift;
        if (ms > 8000)
            ms = 8000;
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int registry_do_retry(struct registry *reg, CURL *h, const char *method, const char *url,
                      const struct reg_req *req, struct reg_resp *resp, struct err *e)
{
    for (int attempt = 0;; attempt++) {
        int rc = registry_do(reg, h, method, url, req, resp, e);
        bool transient = resp->transient;
        if ((rc == 0 && !transient) || (rc < 0 && !transient))
            return rc;
        if (attempt >= reg->retries) {
            if (rc == 0) {
                char d[512];
                return err_set(e, "%s: %s (after %d retries)", reg->host,
                               registry_describe(resp, d, sizeof d), attempt);
            }
            return err_ctx(e, "after %d retries", attempt);
        }
        registry_backoff(attempt + 1, resp->retry_after);
    }
}

const char *registry_describe(const struct reg_resp *resp, char *buf, size_t n)
{
    json_error_t je;
    cleanup_json json_t *doc = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, &je) : NULL;
    json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *msg = json_string_value(json_object_get(first, "message"));
    if (code || msg)
        snprintf(buf, n, "HTTP %ld: %s%s%s", resp->status, code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    else
        snprintf(buf, n, "HTTP %ld", resp->status);
    return buf;
}

/* ---------------------------------------------------------------- open / close */

static int ping(struct registry *reg, int *curl_code, struct err *e)
{
    cleanup_curl CURL *h = registry_conn(reg, e);
    if (!h)
        return ERR;
    struct reg_resp resp;
    /* A registry that refuses connections at the start is most likely the wrong
     * address: retry only briefly (0.75 s) before saying so. */
    int saved = reg->retries;
    reg->retries = saved < 2 ? saved : 2;
    int rc = registry_do_retry(reg, h, "GET", "/v2/", NULL, &resp, e);
    reg->retries = saved;
    *curl_code = resp.curl_code;
    if (rc < 0)
        return ERR;
    if (resp.status == 200)
        return 0;
    char d[512];
    if (resp.status == 404)
        return err_set(e, "%s does not look like an OCI registry: GET /v2/ answered HTTP 404", reg->base);
    return err_set(e, "%s: GET /v2/: %s", reg->base, registry_describe(&resp, d, sizeof d));
}

/* Does host answer a TLS handshake? Only asks whether the server speaks TLS, so it
 * skips certificate checks and sends no data: the real, verified requests follow. That
 * also spares loading the CA store (tens of ms) for a plain-http loopback registry. */
static bool speaks_tls(const char *host)
{
    cleanup_curl CURL *h = curl_easy_init();
    if (!h)
        return true;
    char url[600];
    snprintf(url, sizeof url, "https://%s/", host);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    return curl_easy_perform(h) != CURLE_SSL_CONNECT_ERROR;
}

int registry_open(const struct ref *r, const struct registry_opts *o, struct registry **out, struct err *e)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return err_set(e, "out of memory");
    pthread_mutex_init(&reg->mu, NULL);
    snprintf(reg->host, sizeof reg->host, "%s", r->host);
    snprintf(reg->repo, sizeof reg->repo, "%s", r->repo);
    if (o->ca_cert)
        snprintf(reg->ca_cert, sizeof reg->ca_cert, "%s", o->ca_cert);
    if (o->extra_scope)
        snprintf(reg->extra_scope, sizeof reg->extra_scope, "%s", o->extra_scope);
    if (o->creds)
        reg->creds = *o->creds;
    reg->verbose = o->verbose;
    reg->retries = o->retries;
    if (o->ca_cert && access(o->ca_cert, R_OK) < 0) {
        err_sys(e, errno, "--ca-cert %s", o->ca_cert);
        registry_close(reg);
        return ERR;
    }
    bool plain = o->insecure;
    if (!plain && ref_host_is_loopback(r->host) && !speaks_tls(r->host)) {
        /* A loopback registry that does not speak TLS: plain http, as crane does. */
        plain = true;
        if (reg->verbose)
            fprintf(stderr, "armlet: %s does not speak TLS; using plain http (loopback)\n", r->host);
    }
    snprintf(reg->base, sizeof reg->base, "%s://%s", plain ? "http" : "https", r->host);
    int code = 0;
    int rc = ping(reg, &code, e);
    if (rc < 0) {
        registry_close(reg);
        return ERR;
    }
    *out = reg;
    return 0;
}

void registry_close(struct registry *reg)
{
    if (!reg)
        return;
    cleanup_secretp(&reg->auth);
    explicit_bzero(&reg->creds, sizeof reg->creds);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
    curl_global_cleanup();
}
