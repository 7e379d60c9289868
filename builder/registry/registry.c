/* builder/registry/registry.c — see registry.h for the lifecycle and the rules. */
#include "registry/registry.h"

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
#include "util/cleanup.h"
#include "util/safetext.h"
#include "registry/url.h"

/* Reply limits (registry.h): what is kept of a body, what is read at most, headers. */
#define BODY_KEEP     REG_BODY_KEEP
#define BODY_MAX      ((size_t)1 << 20)
#define HEADERS_MAX   ((size_t)128 << 10)
#define UPLOAD_RATE   16384L      /* bytes/s assumed for an upload's total time budget */

struct registry {
    char base[600];            /* scheme://host */
    char host[256];
    char repo[256];
    char ca_cert[4096];
    char extra_scope[1024];
    struct err_out verbose;   /* say NULL: quiet */
    bool insecure;             /* the user asked for plain http to this host */
    long timeout;              /* seconds without progress before a request fails */
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

/* The rules every handle gets, whatever it is used for (registry.h): http(s) only, for
 * the request and for redirects (which are not followed anyway: a registry's Locations
 * are checked by url.h first), credentials never carried to another host, time limits. */
static void apply_limits(CURL *h, long timeout, const char *protocols)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
    curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 15 ? timeout : 15L);
    /* A stalled transfer (not one byte for `timeout` seconds) counts as a dropped
     * connection; the total limit (set per request) catches a server that drips. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, timeout);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5 * timeout);
}

static void apply_common(struct registry *reg, CURL *h)
{
    apply_limits(h, reg->timeout, "http,https");
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

/* Keeps the first BODY_KEEP bytes; a body past BODY_MAX ends the transfer (returning
 * less than n makes libcurl fail with CURLE_WRITE_ERROR; resp->refused says why). */
struct write_ctx {
    struct reg_resp *resp;
    const struct reg_req *req;
    CURL *h;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct write_ctx *w = arg;
    struct reg_resp *r = w->resp;
    size_t n = size * nmemb, room = BODY_KEEP - r->body_len;
    if (w->req && w->req->sink) {
        long status = 0;
        curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300)
            return w->req->sink(w->req->sink_arg, data, n) == 0 ? n : 0;
    }
    size_t take = n < room ? n : room;
    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    r->body_cut |= take < n;
    r->body_bytes += n;
    if (r->body_bytes > BODY_MAX) {
        snprintf(r->refused, sizeof r->refused, "reply body larger than %zu KiB", BODY_MAX >> 10);
        return 0;
    }
    return n;
}

/* If line is header name, copy its value (trimmed) into out and return 1; 0 when the
 * line is another header; -1 when the value does not fit in cap bytes (out = ""): a cut
 * Location or challenge would be another URL or realm, so it is refused, not cut. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return 0;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - v);
    out[0] = '\0';
    if (len >= cap)
        return -1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 1;
}

/* Store header name's value into out when line is that header; a value too long for out
 * refuses the reply. Returns true when the line was that header. */
static bool take_header(struct reg_resp *r, const char *line, size_t n, const char *name, char *out,
                        size_t cap)
{
    int rc = header_value(line, n, name, out, cap);
    if (rc < 0 && !r->refused[0])
        snprintf(r->refused, sizeof r->refused, "reply header %s longer than %zu bytes", name, cap - 1);
    return rc != 0;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *arg)
{
    struct reg_resp *r = arg;
    size_t n = size * nitems;
    char tmp[64];
    r->header_bytes += n;
    if (r->header_bytes > HEADERS_MAX) {
        snprintf(r->refused, sizeof r->refused, "reply headers larger than %zu KiB", HEADERS_MAX >> 10);
        return 0;
    }
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* a new response (after 100 Continue): forget the last one's */
        r->location[0] = r->digest[0] = r->challenge[0] = '\0';
        r->chunk_min = r->retry_after = 0;
    } else if (take_header(r, line, n, "Location", r->location, sizeof r->location) ||
               take_header(r, line, n, "Docker-Content-Digest", r->digest, sizeof r->digest) ||
               take_header(r, line, n, "WWW-Authenticate", r->challenge, sizeof r->challenge)) {
        /* stored */
    } else if (take_header(r, line, n, "OCI-Chunk-Min-Length", tmp, sizeof tmp)) {
        r->chunk_min = strtol(tmp, NULL, 10);
    } else if (take_header(r, line, n, "Retry-After", tmp, sizeof tmp)) {
        r->retry_after = strtol(tmp, NULL, 10);
    }
    return r->refused[0] ? 0 : n;
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

/* The path of a URL without scheme, host and query, escaped: for messages. */
static void url_path(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    if (!p)
        p = "/";
    char path[1024];
    size_t n = strcspn(p, "?");
    if (n >= sizeof path)
        n = sizeof path - 1;
    memcpy(path, p, n);
    path[n] = '\0';
    safetext_escape(path, out, cap);
}

/* Why a request failed in transport, for the user: the registry, the request, libcurl's
 * words (escaped: they may quote a host name or a server's text). */
static int transport_error(struct registry *reg, const char *method, const char *path, CURLcode code,
                           const char *errbuf, const struct reg_resp *resp, struct err *e)
{
    char why[CURL_ERROR_SIZE + 16];
    safetext_escape(errbuf[0] ? errbuf : curl_easy_strerror(code), why, sizeof why);
    if (resp->refused[0])
        return err_set(e, "%s %s%s: %s: refused", method, reg->host, path, resp->refused);
    if (code == CURLE_PEER_FAILED_VERIFICATION)
        return err_set(e, "%s: TLS certificate not trusted (%s); for a private CA pass --ca-cert FILE",
                       reg->host, why);
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
        return err_set(e, "cannot connect to registry %s: %s", reg->host, why);
    if (code == CURLE_OPERATION_TIMEDOUT)
        return err_set(e, "%s %s%s: the server stalled or was too slow (%s; --timeout %ld)", method,
                       reg->host, path, why, reg->timeout);
    if (code == CURLE_OUT_OF_MEMORY)   /* what libcurl 7.88 says of a header line over 100 KiB */
        return err_set(e, "%s %s%s: reply refused: a header line longer than libcurl's 100 KiB limit, or "
                       "out of memory", method, reg->host, path);
    if (code == CURLE_UNSUPPORTED_PROTOCOL)
        return err_set(e, "%s %s%s: %s (armlet speaks only http and https)", method, reg->host, path, why);
    return err_set(e, "%s %s%s: %s", method, reg->host, path, why);
}

/* A Location header is resolved against the URL of the request that returned it (RFC
 * 3986, as the distribution spec allows relative ones) and checked (url.h); an https
 * session is never moved to plain http, except on a literal loopback address. */
static int check_location(const char *req_url, struct reg_resp *resp, struct err *e)
{
    char abs[sizeof resp->location];
    if (url_resolve(req_url, resp->location, "Location header", abs, sizeof abs, e) < 0)
        return ERR;
    struct url_origin from, to;
    if (url_origin(req_url, &from) == 0 && url_origin(abs, &to) == 0 && from.https && !to.https &&
        !ref_host_is_loopback(to.host)) {
        char q[600];
        return err_set(e, "Location header \"%s\" moves an https upload to plain http: refused",
                       safetext_escape(abs, q, sizeof q));
    }
    memcpy(resp->location, abs, strlen(abs) + 1);
    return 0;
}

/* One HTTP exchange with the given Authorization header (or none). */
static int perform(struct registry *reg, CURL *h, const char *method, const char *url,
                   const struct reg_req *req, const char *auth, struct reg_resp *resp,
                   CURLcode *code, struct err *e)
{
    memset(resp, 0, sizeof *resp);
    curl_easy_reset(h);
    apply_common(reg, h);
    char full[REG_URL_MAX + 256];   /* a Location plus "&digest=sha256:..." */
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
    if (req && req->range)
        curl_easy_setopt(h, CURLOPT_RANGE, req->range);
    if (req && req->content_range) {
        snprintf(line, sizeof line, "Content-Range: %s", req->content_range);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    if (!hdrs)
        return err_set(e, "out of memory");

    struct body_cursor cur = {req ? req->body : NULL, 0};
    struct write_ctx wctx = {resp, req, h};
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &wctx);
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
        /* A big blob on a slow link needs longer than the default total limit. */
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 5 * reg->timeout + (long)(cur.b->len / UPLOAD_RATE));
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
        resp->transient = !resp->refused[0] && curl_transient(*code);
        err_say(&reg->verbose, "armlet: %s %s -> %s\n", method, path, curl_easy_strerror(*code));
        return transport_error(reg, method, path, *code, errbuf, resp, e);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->transient = resp->status >= 500 || resp->status == 429;
    err_say(&reg->verbose, "armlet: %s %s -> %ld\n", method, path, resp->status);
    if (resp->location[0] && check_location(full, resp, e) < 0) {
        resp->transient = false;
        return err_ctx(e, "%s %s%s", method, reg->host, path);
    }
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

/* May the user's Basic credentials go to this token realm (registry.h)? Over https
 * anywhere (as Docker Hub's auth.docker.io for registry-1.docker.io); over plain http
 * only to a literal loopback address or to the host the user made --insecure. */
static bool realm_may_get_creds(const struct registry *reg, const char *realm)
{
    struct url_origin o;
    if (url_origin(realm, &o) < 0)
        return false;
    return o.https || ref_host_is_loopback(o.host) || (reg->insecure && url_same_host(realm, reg->base));
}

/* The refresh-token grant's form (caller wipes and frees), from the GET URL built for
 * the realm (its service and scope parameters, already escaped) and the token. */
static char *oauth_form(const char *get_url, const char *refresh_token)
{
    char *tok = url_escape(refresh_token);
    if (!tok)
        return NULL;
    const char *q = strchr(get_url, '?');
    char *form = NULL;
    if (asprintf(&form, "grant_type=refresh_token&client_id=armlet&refresh_token=%s%s%s", tok, q ? "&" : "",
                 q ? q + 1 : "") < 0)
        form = NULL;
    explicit_bzero(tok, strlen(tok));
    curl_free(tok);
    return form;
}

/* Send the token request: GET url (with Basic credentials when send_creds), or for an
 * identity token the OAuth2 refresh-token grant, as Docker and distribution send it:
 * a POST of the form to the realm (url is rewritten to it: secrets stay out of query
 * strings, which end up in access logs). */
static int ask_realm(struct registry *reg, CURL *h, char *url, size_t cap, const char *realm, bool send_creds,
                     struct reg_resp *resp, struct err *e)
{
    CURLcode code;
    if (!send_creds || reg->creds.kind != AUTH_IDENTITY_TOKEN) {
        cleanup_secret char *basic = send_creds ? auth_basic_header(&reg->creds) : NULL;
        if (send_creds && !basic)
            return err_set(e, "out of memory");
        return perform(reg, h, "GET", url, NULL, basic, resp, &code, e);
    }
    cleanup_secret char *form = oauth_form(url, reg->creds.pass);
    if (!form)
        return err_set(e, "out of memory");
    snprintf(url, cap, "%s", realm);
    struct reg_body body = {.mem = form, .fd = -1, .len = (off_t)strlen(form)};
    struct reg_req req = {.content_type = "application/x-www-form-urlencoded", .body = &body};
    return perform(reg, h, "POST", url, &req, NULL, resp, &code, e);
}

/* Ask the Bearer realm for a token; returns the Authorization header (caller frees). */
static int fetch_token(struct registry *reg, const struct auth_challenge *ch, char **out, struct err *e)
{
    char url[8192], realm[4096];
    const struct auth_creds *cr = &reg->creds;
    /* the challenge parser cuts values at its buffer: a realm that filled it may be cut */
    if (strlen(ch->realm) >= sizeof ch->realm - 1)
        return err_set(e, "%s: Bearer challenge: token realm longer than %zu bytes", reg->host,
                       sizeof ch->realm - 2);
    if (url_resolve(NULL, ch->realm, "token realm", realm, sizeof realm, e) < 0)
        return err_ctx(e, "%s: Bearer challenge", reg->host);
    bool send_creds = reg->creds.set;
    if (send_creds && !realm_may_get_creds(reg, realm))
        return err_set(e, "%s: token realm %s is plain http on another host: armlet sends credentials over "
                       "plain http only to a loopback address or the --insecure registry itself", reg->host, realm);
    cleanup_curl CURL *h = registry_conn(reg, e);
    if (!h)
        return ERR;
    snprintf(url, sizeof url, "%s", realm);
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

    cleanup_free struct reg_resp *resp = malloc(sizeof *resp);
    if (!resp)
        return err_set(e, "out of memory");
    int rc = ask_realm(reg, h, url, sizeof url, realm, send_creds, resp, e);
    if (rc < 0)
        return err_ctx(e, "token server %s", realm);
    if (resp->status == 401 || resp->status == 403 || (resp->status == 400 && cr->kind == AUTH_IDENTITY_TOKEN)) {
        if (reg->creds.set)
            return err_set(e, "%s: %s from %s rejected by token server %s (HTTP %ld)",
                           reg->host, auth_kind_name(cr), cr->source, realm, resp->status);
        return err_set(e, "%s: token server %s refused anonymous access (HTTP %ld); give --creds USER:PASS, "
                       "ARMLET_REGISTRY_CREDS or a docker config entry", reg->host, realm, resp->status);
    }
    if (resp->status != 200)
        return err_set(e, "%s: token server %s answered HTTP %ld", reg->host, realm, resp->status);
    if (resp->body_cut)
        return err_set(e, "%s: token server %s: reply larger than %zu KiB", reg->host, realm, BODY_KEEP >> 10);
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(resp->body, resp->body_len, 0, &je);
    explicit_bzero(resp->body, resp->body_len);
    json_t *jt = json_object_get(doc, "token");
    if (!json_string_length(jt))
        jt = json_object_get(doc, "access_token");
    const char *tok = json_string_value(jt);
    if (!tok || !*tok)
        return err_set(e, "%s: token server %s: reply has no \"token\"", reg->host, realm);
    if (json_string_length(jt) > AUTH_SECRET_MAX)
        return err_set(e, "%s: token server %s: token longer than %d KiB: refused", reg->host, realm,
                       AUTH_SECRET_MAX >> 10);
    /* A rotated refresh token replaces the old one for the next renewal (mu is held). */
    const char *refresh = json_string_value(json_object_get(doc, "refresh_token"));
    if (cr->kind == AUTH_IDENTITY_TOKEN && refresh && *refresh && strlen(refresh) < sizeof reg->creds.pass &&
        strlen(refresh) == json_string_length(json_object_get(doc, "refresh_token"))) {
        explicit_bzero(reg->creds.pass, sizeof reg->creds.pass);
        memcpy(reg->creds.pass, refresh, strlen(refresh) + 1);
    }
    /* The token becomes a header line: CR/LF would inject headers, other control bytes
     * have no business there (RFC 6750 b64token). */
    if (!safetext_is_token(tok, json_string_length(jt)))
        return err_set(e, "%s: token server %s: the token holds a space, a control character (CR/LF) or "
                       "a non-ASCII byte: refused", reg->host, realm);
    if (asprintf(out, "Authorization: Bearer %s", tok) < 0)
        return err_set(e, "out of memory");
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
        char q[300];
        rc = err_set(e, "%s: authentication required, but the challenge \"%s\" names no Basic or Bearer scheme",
                     reg->host, safetext_escape(challenge, q, sizeof q));
        goto out;
    }
    char *hdr = NULL;
    if (reg->creds.set && reg->creds.kind != AUTH_PASSWORD && ch.scheme == AUTH_BASIC) {
        rc = err_set(e, "%s: the registry asks for Basic authentication, but %s holds a %s", reg->host,
                     reg->creds.source, auth_kind_name(&reg->creds));
        goto out;
    }
    if (reg->creds.set && reg->creds.kind == AUTH_REGISTRY_TOKEN) {
        /* Docker's "registrytoken": a Bearer token for the registry itself, no realm. */
        if (reg->auth) {
            rc = err_set(e, "%s: registry token from %s rejected (HTTP 401)", reg->host, reg->creds.source);
            goto out;
        }
        if (!safetext_is_token(reg->creds.pass, strlen(reg->creds.pass))) {
            rc = err_set(e, "%s: registry token from %s holds a space, a control character or a non-ASCII "
                         "byte: refused", reg->host, reg->creds.source);
            goto out;
        }
        if (asprintf(&hdr, "Authorization: Bearer %s", reg->creds.pass) < 0) {
            rc = err_set(e, "out of memory");
            goto out;
        }
    } else if (ch.scheme == AUTH_BASIC) {
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

/* Credentials (the Authorization header, Basic or Bearer) go only to the registry's own
 * origin: an upload Location on another host (a storage redirect) gets none, as Docker
 * does, and a 401 from it is an error rather than a reason to fetch a token for it. */
static bool same_origin(const struct registry *reg, const char *url)
{
    return url[0] == '/' || url_same_origin(url, reg->base);
}

static int request_authorized(struct registry *reg, CURL *h, const char *method, const char *url,
                              const struct reg_req *req, struct reg_resp *resp, struct err *e)
{
    bool own = same_origin(reg, url);
    for (int round = 0;; round++) {
        unsigned gen;
        cleanup_secret char *auth = own ? auth_snapshot(reg, &gen) : NULL;
        CURLcode code;
        if (perform(reg, h, method, url, req, auth, resp, &code, e) < 0)
            return ERR;
        if (resp->status != 401)
            return 0;
        if (!own) {
            struct url_origin o;
            char q[300];
            if (url_origin(url, &o) < 0)
                snprintf(o.host, sizeof o.host, "?");
            return err_set(e, "%s %s: HTTP 401 from %s:%ld, which is not the registry %s: armlet sends "
                           "credentials only to the registry and its token realm", method,
                           safetext_escape(url, q, sizeof q), o.host, o.port, reg->host);
        }
        if (round == 1) {
            bool basic = auth && !strncmp(auth, "Authorization: Basic ", 21);
            if (basic)
                return err_set(e, "%s: credentials from %s rejected (HTTP 401)", reg->host, reg->creds.source);
            if (reg->creds.set && reg->creds.kind == AUTH_REGISTRY_TOKEN)
                return err_set(e, "%s: registry token from %s rejected (HTTP 401)", reg->host, reg->creds.source);
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

int registry_do(struct registry *reg, CURL *h, const char *method, const char *url,
                const struct reg_req *req, struct reg_resp *resp, struct err *e)
{
    if (request_authorized(reg, h, method, url, req, resp, e) == 0)
        return 0;
    /* A failure is the message in e, not the reply's status (registry.h). */
    resp->status = 0;
    return ERR;
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
    char qc[128], qm[400];
    code = code ? safetext_escape(code, qc, sizeof qc) : NULL;
    msg = msg ? safetext_escape(msg, qm, sizeof qm) : NULL;
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
    cleanup_free struct reg_resp *rp = malloc(sizeof *rp);
    if (!rp)
        return err_set(e, "out of memory");
    /* A registry that refuses connections at the start is most likely the wrong
     * address: retry only briefly (0.75 s) before saying so. */
    int saved = reg->retries;
    reg->retries = saved < 2 ? saved : 2;
    int rc = registry_do_retry(reg, h, "GET", "/v2/", NULL, rp, e);
    reg->retries = saved;
    *curl_code = rp->curl_code;
    if (rc < 0)
        return ERR;
    if (rp->status == 200)
        return 0;
    char d[512];
    if (rp->status == 404)
        return err_set(e, "%s does not look like an OCI registry: GET /v2/ answered HTTP 404", reg->base);
    return err_set(e, "%s: GET /v2/: %s", reg->base, registry_describe(rp, d, sizeof d));
}

/* Does host answer a TLS handshake? Only asks whether the server speaks TLS, so it
 * skips certificate checks and sends no data: the real, verified requests follow. That
 * also spares loading the CA store (tens of ms) for a plain-http loopback registry. */
static bool speaks_tls(const char *host, long timeout)
{
    cleanup_curl CURL *h = curl_easy_init();
    if (!h)
        return true;
    char url[600];
    snprintf(url, sizeof url, "https://%s/", host);
    curl_easy_setopt(h, CURLOPT_URL, url);
    apply_limits(h, timeout, "https");
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
    reg->insecure = o->insecure;
    reg->timeout = o->timeout > 0 ? o->timeout : 60;
    if (o->ca_cert && access(o->ca_cert, R_OK) < 0) {
        err_sys(e, errno, "--ca-cert %s", o->ca_cert);
        registry_close(reg);
        return ERR;
    }
    bool plain = o->insecure;
    if (!plain && ref_host_is_loopback(r->host) && !speaks_tls(r->host, reg->timeout)) {
        /* A loopback registry that does not speak TLS: plain http, as crane does. */
        plain = true;
        err_say(&reg->verbose, "armlet: %s does not speak TLS; using plain http (loopback)\n", r->host);
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

int registry_open_user(const struct ref *r, const char *userpass, const struct registry_opts *o,
                       struct registry **out, struct err *e)
{
    struct auth_creds creds;
    memset(&creds, 0, sizeof creds);
    int rc = userpass ? auth_creds_parse(userpass, "--creds", &creds, e) : auth_creds_find(r->domain, &creds, e);
    if (rc >= 0) {
        struct registry_opts ro = *o;
        ro.creds = &creds;
        rc = registry_open(r, &ro, out, e);
    }
    explicit_bzero(&creds, sizeof creds);
    return rc < 0 ? ERR : 0;
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
