/* builder/registry/credhelper.c — see credhelper.h for the protocol and the limits. */
#include "registry/credhelper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "util/cleanup.h"
#include "util/safetext.h"

extern char **environ;

#define OUT_MAX   ((size_t)1 << 20)   /* stdout kept at most (a 64 KiB secret, JSON-escaped) */
#define ERR_KEEP  ((size_t)4 << 10)   /* stderr kept for the message */
#define DEFAULT_TIMEOUT 30

struct child_io {
    char *out;          /* stdout, NUL-terminated (secret: wiped by the caller) */
    size_t out_len;
    char err[ERR_KEEP + 1];
    size_t err_len;
    bool too_big, timed_out;
    int status;         /* wait status */
};

static long helper_timeout(void)
{
    const char *s = getenv("ARMLET_CREDENTIAL_HELPER_TIMEOUT");
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    return s && *s && !*end && v > 0 && v <= 3600 ? v : DEFAULT_TIMEOUT;
}

static long ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms;
}

/* Write the server address to the helper's stdin and close it. The helper may exit
 * without reading it: the write must then fail with EPIPE, not kill armlet with SIGPIPE,
 * so SIGPIPE is blocked around it and a pending one is taken back. */
static void feed_stdin(int fd, const char *server)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = write(fd, server, strlen(server));   /* < PIPE_BUF: one atomic write */
    if (n < 0 && errno == EPIPE) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(fd);
}

/* Read stdout and stderr until both close, a limit is passed or the deadline; then
 * reap the helper, killing its process group first when it overstayed. */
static void collect(pid_t pid, int out_fd, int err_fd, long timeout, struct child_io *io)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout;
    size_t cap = 64 << 10;
    io->out = malloc(cap + 1);
    struct pollfd pf[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    char junk[4096];
    while ((pf[0].fd >= 0 || pf[1].fd >= 0) && io->out && !io->too_big) {
        long left = ms_left(&deadline);
        if (left == 0) {
            io->timed_out = true;
            break;
        }
        int r = poll(pf, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (pf[0].fd >= 0 && pf[0].revents) {
            if (io->out_len == cap) {
                if (cap >= OUT_MAX) {
                    io->too_big = true;
                    break;
                }
                char *bigger = malloc(cap * 2 + 1);
                if (!bigger)
                    break;
                memcpy(bigger, io->out, io->out_len);
                explicit_bzero(io->out, io->out_len);
                free(io->out);
                io->out = bigger;
                cap *= 2;
            }
            ssize_t n = read(out_fd, io->out + io->out_len, cap - io->out_len);
            if (n > 0)
                io->out_len += (size_t)n;
            else if (n == 0 || errno != EINTR)
                pf[0].fd = -1;
        }
        if (pf[1].fd >= 0 && pf[1].revents) {
            ssize_t n = read(err_fd, junk, sizeof junk);
            if (n > 0) {
                size_t take = ERR_KEEP - io->err_len < (size_t)n ? ERR_KEEP - io->err_len : (size_t)n;
                memcpy(io->err + io->err_len, junk, take);
                io->err_len += take;
            } else if (n == 0 || errno != EINTR) {
                pf[1].fd = -1;
            }
        }
    }
    if (io->out)
        io->out[io->out_len] = '\0';
    io->err[io->err_len] = '\0';
    /* Both pipes closed: the helper should be exiting; give it what is left of the time. */
    while (!io->timed_out && !io->too_big) {
        pid_t w = waitpid(pid, &io->status, WNOHANG);
        if (w == pid)
            return;
        if (w < 0 && errno != EINTR)
            return;
        if (ms_left(&deadline) == 0) {
            io->timed_out = true;
            break;
        }
        struct timespec tick = {0, 5 * 1000000L};
        nanosleep(&tick, NULL);
    }
    kill(-pid, SIGKILL);   /* the helper's own process group (POSIX_SPAWN_SETPGROUP) */
    kill(pid, SIGKILL);
    while (waitpid(pid, &io->status, 0) < 0 && errno == EINTR)
        ;
}

static int run_helper(const char *prog, const char *server, const char *what, struct child_io *io,
                      struct err *e)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        int saved = errno;
        int *fds[] = {&in[0], &in[1], &out[0], &out[1], &errp[0], &errp[1]};
        for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
            if (*fds[i] >= 0)
                close(*fds[i]);
        return err_sys(e, saved, "credential helper %s: pipe", what);
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setpgroup(&at, 0);   /* its own group, so a timeout kills its children too */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    /* argv is the program and "get": the server goes on stdin, no secret ever on argv */
    char *argv[] = {(char *)prog, (char *)"get", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        close(errp[0]);
        if (rc == ENOENT)
            return err_set(e, "credential helper %s: %s not found in PATH", what, prog);
        return err_sys(e, rc, "credential helper %s: cannot run %s", what, prog);
    }
    feed_stdin(in[1], server);
    collect(pid, out[0], errp[0], helper_timeout(), io);
    close(out[0]);
    close(errp[0]);
    return 0;
}

/* The helper's own message for a failure: stdout (where helpers print it), else stderr,
 * one line, escaped. */
static const char *helper_message(const struct child_io *io, char *buf, size_t cap)
{
    const char *m = io->out && io->out_len && strlen(io->out) == io->out_len ? io->out : io->err;
    char line[256];
    int n = (int)strcspn(m, "\n");
    snprintf(line, sizeof line, "%.*s", n, m);
    return safetext_escape(line, buf, cap);
}

static int parse_reply(const char *out, size_t len, const char *what, struct auth_creds *c, struct err *e)
{
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(out, len, JSON_REJECT_DUPLICATES, &je);
    json_t *ju = json_object_get(doc, "Username");
    json_t *js = json_object_get(doc, "Secret");
    const char *user = json_string_value(ju);
    const char *secret = json_string_value(js);
    if (!json_is_object(doc) || !user || !secret)
        return err_set(e, "credential helper %s: its output is not the JSON object {\"Username\": ..., "
                       "\"Secret\": ...} a helper must print", what);
    if (strlen(user) != json_string_length(ju) || strlen(secret) != json_string_length(js))
        return err_set(e, "credential helper %s: Username or Secret holds a NUL byte", what);
    if (!*secret)
        return err_set(e, "credential helper %s: empty Secret", what);
    if (!strcmp(user, "<token>"))   /* Docker's marker: Secret is an identity token */
        return auth_creds_set(c, AUTH_IDENTITY_TOKEN, "", 0, secret, what, e) < 0 ? ERR : 1;
    if (strchr(user, ':'))
        return err_set(e, "credential helper %s: Username holds a ':', which Basic authentication cannot carry",
                       what);
    return auth_creds_set(c, AUTH_PASSWORD, user, strlen(user), secret, what, e) < 0 ? ERR : 1;
}

int credhelper_get(const char *name, const char *server, const char *what, struct auth_creds *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    size_t nl = strlen(name);
    if (nl == 0 || nl > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != nl)
        return err_set(e, "credential helper %s: the name may hold only letters, digits, '.', '_' and '-' "
                       "(at most 64)", what);
    char prog[96];
    snprintf(prog, sizeof prog, "docker-credential-%s", name);
    struct child_io io;
    memset(&io, 0, sizeof io);
    int rc = run_helper(prog, server, what, &io, e);
    if (rc == 0) {
        char m[300];
        if (!io.out)
            rc = err_set(e, "credential helper %s: out of memory", what);
        else if (io.timed_out)
            rc = err_set(e, "credential helper %s did not answer within %ld s: killed "
                         "(ARMLET_CREDENTIAL_HELPER_TIMEOUT sets the limit)", what, helper_timeout());
        else if (io.too_big)
            rc = err_set(e, "credential helper %s printed more than %zu KiB: killed", what, OUT_MAX >> 10);
        else if (WIFSIGNALED(io.status))
            rc = err_set(e, "credential helper %s died of signal %d", what, WTERMSIG(io.status));
        else if (WEXITSTATUS(io.status) != 0 && strstr(io.out, "credentials not found"))
            rc = 0;   /* the helper's standard answer for an unknown server */
        else if (WEXITSTATUS(io.status) != 0)
            rc = err_set(e, "credential helper %s failed (exit %d): %s", what, WEXITSTATUS(io.status),
                         helper_message(&io, m, sizeof m));
        else
            rc = parse_reply(io.out, io.out_len, what, c, e);
    }
    if (io.out) {
        explicit_bzero(io.out, io.out_len);
        free(io.out);
    }
    explicit_bzero(io.err, sizeof io.err);
    if (rc <= 0)
        explicit_bzero(c, sizeof *c);
    return rc;
}
