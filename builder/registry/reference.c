/* builder/registry/reference.c — see reference.h for the grammar. */
#include "registry/reference.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "oci/digest.h"

bool ref_tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

/* One repository component: [a-z0-9]+ ( ('.'|'_'|'__'|'-'+) [a-z0-9]+ )* */
static bool component_valid(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isupper(c))
            return false;
        if (isalnum(c))
            continue;
        if (c == '.') {
            if (!isalnum((unsigned char)s[i + 1]))
                return false;
        } else if (c == '_') {
            if (s[i + 1] == '_')
                i++;
            if (!isalnum((unsigned char)s[i + 1]))
                return false;
        } else if (c == '-') {
            while (s[i + 1] == '-')
                i++;
            if (!isalnum((unsigned char)s[i + 1]))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static bool repo_valid(const char *repo)
{
    const char *p = repo;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!component_valid(p, n))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

static bool host_valid(const char *h)
{
    const char *port = NULL;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');
        if (!close || close == h + 1)
            return false;
        for (const char *p = h + 1; p < close; p++)
            if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
                return false;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return false;
    } else {
        const char *colon = strchr(h, ':');
        size_t n = colon ? (size_t)(colon - h) : strlen(h);
        if (n == 0 || h[0] == '-' || h[0] == '.')
            return false;
        for (size_t i = 0; i < n; i++)
            if (!(isalnum((unsigned char)h[i]) || h[i] == '.' || h[i] == '-'))
                return false;
        if (colon)
            port = colon + 1;
    }
    if (port) {
        size_t n = strlen(port);
        if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
            return false;
    }
    return true;
}

static bool looks_like_host(const char *s, size_t n)
{
    if (n == 9 && !strncmp(s, "localhost", 9))
        return true;
    if (s[0] == '[')
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || isupper((unsigned char)s[i]))
            return true;
    return false;
}

/* ":<1-5 digits>" or nothing. */
static bool port_suffix_ok(const char *p)
{
    if (!*p)
        return true;
    size_t n = strlen(p + 1);
    return p[0] == ':' && n >= 1 && n <= 5 && strspn(p + 1, "0123456789") == n;
}

/* Loopback only as a literal: the name "localhost", an IPv4 address in 127.0.0.0/8
 * written as a dotted quad (inet_pton: no "127.1" shorthand, no "127.evil.example.com"),
 * or the IPv6 address ::1 in brackets. A name that merely starts like one is a name that
 * DNS (or an attacker) resolves, and gets no loopback privileges. */
bool ref_host_is_loopback(const char *host)
{
    char name[64];
    const char *end;
    bool v6 = host[0] == '[';
    if (v6) {
        end = strchr(host, ']');
        if (!end)
            return false;
        host++;
    } else {
        end = host + strcspn(host, ":");
    }
    size_t n = (size_t)(end - host);
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    if (!port_suffix_ok(end + v6))
        return false;
    if (v6) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return !strcasecmp(name, "localhost");
}

static int copy_field(char *dst, size_t cap, const char *src, size_t n, const char *what,
                      const char *s, struct err *e)
{
    if (n >= cap)
        return err_set(e, "reference \"%s\": %s too long", s, what);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

int ref_parse(const char *s, struct ref *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    if (!*s)
        return err_set(e, "reference is empty");
    size_t len = strlen(s);
    const char *at = strchr(s, '@');
    size_t name_len = at ? (size_t)(at - s) : len;
    if (at) {
        if (!digest_valid(at + 1))
            return err_set(e, "reference \"%s\": digest \"%s\" is not sha256:<64 hex digits>", s, at + 1);
        strcpy(r->digest, at + 1);
    }
    /* The tag separator is the last ':' after the last '/'. */
    const char *last_slash = memrchr(s, '/', name_len);
    const char *search = last_slash ? last_slash + 1 : s;
    const char *colon = memchr(search, ':', name_len - (size_t)(search - s));
    if (colon && !last_slash && s[0] == '[')
        colon = NULL;
    size_t path_len = name_len;
    if (colon) {
        path_len = (size_t)(colon - s);
        size_t tn = name_len - path_len - 1;
        if (copy_field(r->tag, sizeof r->tag, colon + 1, tn, "tag", s, e) < 0)
            return ERR;
        if (!ref_tag_valid(r->tag))
            return err_set(e, "reference \"%s\": tag \"%s\" is not valid (letters, digits, '_', '.', '-'; at most 128)", s, r->tag);
    }
    const char *slash = memchr(s, '/', path_len);
    const char *repo = s;
    if (slash && looks_like_host(s, (size_t)(slash - s))) {
        if (copy_field(r->domain, sizeof r->domain, s, (size_t)(slash - s), "host", s, e) < 0)
            return ERR;
        if (!host_valid(r->domain))
            return err_set(e, "reference \"%s\": registry host \"%s\" is not valid", s, r->domain);
        repo = slash + 1;
    } else {
        strcpy(r->domain, "docker.io");
    }
    size_t repo_len = path_len - (size_t)(repo - s);
    bool docker_hub = !strcmp(r->domain, "docker.io") || !strcmp(r->domain, "index.docker.io");
    if (docker_hub) {
        strcpy(r->domain, "docker.io");
        strcpy(r->host, "registry-1.docker.io");
        if (!memchr(repo, '/', repo_len)) {
            strcpy(r->repo, "library/");
            if (copy_field(r->repo + 8, sizeof r->repo - 8, repo, repo_len, "repository", s, e) < 0)
                return ERR;
        } else if (copy_field(r->repo, sizeof r->repo, repo, repo_len, "repository", s, e) < 0) {
            return ERR;
        }
    } else {
        strcpy(r->host, r->domain);
        if (copy_field(r->repo, sizeof r->repo, repo, repo_len, "repository", s, e) < 0)
            return ERR;
    }
    if (!repo_valid(r->repo))
        return err_set(e, "reference \"%s\": repository \"%s\" is not valid (lowercase letters, digits, separators '.', '_', '-', '/')", s, r->repo);
    return 0;
}
