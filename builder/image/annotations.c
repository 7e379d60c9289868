/* builder/image/annotations.c — see annotations.h. */
#include "image/annotations.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/oci.h"

#define OCI_PREFIX "org.opencontainers.image."

extern char **environ;

/* Run git -C dir ARGS and keep its first output line in out ("" on any failure). No
 * shell; stderr discarded. git is asked rather than .git read by hand because a
 * checkout's HEAD may sit in a worktree's gitdir, packed-refs or a submodule's
 * .git file, which git resolves for us. */
static void git_line(const char *dir, const char *const *args, char *out, size_t cap)
{
    out[0] = '\0';
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return;
    const char *argv[12] = {"git", "-C", dir};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 11; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return;
    }
    size_t len = 0;
    char buf[4096];
    for (;;) {
        ssize_t r = read(pfd[0], buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf - 1)
            break;
    }
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return;
    buf[len] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (strlen(buf) < cap)
        memcpy(out, buf, strlen(buf) + 1);
}

void annotations_clean_url(const char *url, char *out, size_t cap)
{
    const char *scheme_end = strstr(url, "://");
    if (!strncmp(url, "file://", 7)) {
        out[0] = '\0';   /* a local path: says nothing to a user and differs per machine */
        return;
    }
    if (scheme_end) {
        const char *host = scheme_end + 3;
        size_t auth_len = strcspn(host, "/");
        const char *at = memchr(host, '@', auth_len);
        /* the last '@' of the authority: a password may hold one */
        for (const char *p = at; p && p < host + auth_len; p = memchr(p + 1, '@', (size_t)(host + auth_len - p - 1)))
            at = p;
        if (at)
            snprintf(out, cap, "%.*s%s", (int)(host - url), url, at + 1);
        else
            snprintf(out, cap, "%s", url);
        return;
    }
    /* scp-like: [user@]host:path */
    const char *colon = strchr(url, ':');
    const char *slash = strchr(url, '/');
    if (colon && (!slash || colon < slash)) {
        const char *at = memchr(url, '@', (size_t)(colon - url));
        const char *host = at ? at + 1 : url;
        snprintf(out, cap, "https://%.*s/%s", (int)(colon - host), host, colon + 1);
        return;
    }
    out[0] = '\0';   /* a local path: says nothing to a user and differs per machine */
}

static int set_both(json_t *idx, json_t *man, const char *k, const char *v, struct err *e)
{
    if ((idx && json_object_set_new(idx, k, json_string(v)) < 0) ||
        (man && json_object_set_new(man, k, json_string(v)) < 0))
        return err_set(e, "annotation %s: value is not valid UTF-8", k);
    return 0;
}

int annotations_defaults(const struct recipe *r, int64_t epoch, json_t *idx, json_t *man,
                         struct err *e)
{
    char created[64];
    if (oci_rfc3339(epoch, created, sizeof created, e) < 0 ||
        set_both(idx, man, OCI_PREFIX "created", created, e) < 0)
        return ERR;
    const char *dir = r->dir && r->dir[0] ? r->dir : ".";
    char rev[128], url[2048], clean[2048];
    static const char *const rev_args[] = {"rev-parse", "--verify", "-q", "HEAD", NULL};
    static const char *const url_args[] = {"config", "--get", "remote.origin.url", NULL};
    git_line(dir, rev_args, rev, sizeof rev);
    if (rev[0] && set_both(idx, man, OCI_PREFIX "revision", rev, e) < 0)
        return ERR;
    if (rev[0])
        git_line(dir, url_args, url, sizeof url);
    else
        url[0] = '\0';
    if (url[0])
        annotations_clean_url(url, clean, sizeof clean);
    if (url[0] && clean[0]) {
        if (set_both(idx, man, OCI_PREFIX "source", clean, e) < 0)
            return ERR;
    }
    for (size_t i = 0; i < r->nlabels; i++)
        if (!strncmp(r->labels[i].key, OCI_PREFIX, strlen(OCI_PREFIX)) &&
            set_both(idx, man, r->labels[i].key, r->labels[i].value, e) < 0)
            return ERR;
    return 0;
}

int annotations_apply_recipe(const struct recipe *r, json_t *idx, json_t *man, struct err *e)
{
    for (size_t i = 0; i < r->nannotations; i++)
        if (set_both(idx, man, r->annotations[i].key, r->annotations[i].value, e) < 0)
            return err_ctx(e, "%s:%d", r->path, r->annotations[i].loc.line);
    return 0;
}

static bool key_ok(const char *k, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= ' ' || k[i] == 0x7f)
            return false;
    return true;
}

int annotations_apply_args(const char *const *args, size_t n, json_t *idx, json_t *man,
                           struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        const char *a = args[i];
        json_t *to_idx = idx, *to_man = man;
        if (!strncmp(a, "index:", 6)) {
            a += 6;
            to_man = NULL;
        } else if (!strncmp(a, "manifest:", 9)) {
            if (!man)
                return err_set(e, "--annotation %s: armlet index writes only the index; set manifest "
                               "annotations when building (armlet build --annotation manifest:KEY=VALUE)",
                               args[i]);
            a += 9;
            to_idx = NULL;
        }
        const char *eq = strchr(a, '=');
        if (!eq || !key_ok(a, (size_t)(eq - a)))
            return err_set(e, "--annotation %s: expected [index:|manifest:]KEY=VALUE", args[i]);
        char key[512];
        if ((size_t)(eq - a) >= sizeof key)
            return err_set(e, "--annotation %s: key too long", args[i]);
        memcpy(key, a, (size_t)(eq - a));
        key[eq - a] = '\0';
        if (set_both(to_idx, to_man, key, eq + 1, e) < 0)
            return ERR;
    }
    return 0;
}

int annotations_apply_index(json_t *idx, const char *const *args, size_t n, struct err *e)
{
    return annotations_apply_args(args, n, idx, NULL, e);
}
