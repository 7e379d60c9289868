/* builder/image/sandbox.c — see sandbox.h for what the program gets and why. */
#include "image/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include "util/cleanup.h"

/* Image root is never host root: it runs as the host's nobody. */
#define SANDBOX_HOST_ROOT_ID 65534u

extern char **environ;

struct child_ctx {
    const struct sandbox_opts *o;
    int sync_fd;      /* read end: EOF once the parent wrote the ID maps */
    int sync_wr;      /* the parent's write end, which the child's copy must not hold */
    int report_fd;    /* write end: a struct failure, or EOF at exec */
};

/* What the child reports when a step fails before exec. */
struct failure {
    int step;
    int errnum;
};

static const char *const step_names[] = {
    "waiting for the ID maps", "making mounts private", "binding the rootfs",
    "mounting /proc", "setting the image's group", "setting the image's user",
    "mounting /dev", "binding a device into /dev", "mounting /tmp",
    "bringing up loopback", "pivot_root into the rootfs", "detaching the host's root",
    "dropping capabilities",
    "setting no_new_privs", "changing to the working folder", "executing the program",
};
enum {
    S_SYNC, S_PRIVATE, S_BIND, S_PROC, S_GID, S_UID, S_DEV, S_DEVNODE, S_TMP, S_LO,
    S_PIVOT, S_DETACH, S_CAPS, S_NNP, S_CHDIR, S_EXEC,
};

static void child_fail(const struct child_ctx *c, int step)
{
    struct failure f = {step, errno};
    (void)!write(c->report_fd, &f, sizeof f);
    _exit(127);
}

static int loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

/* A tmpfs /dev holding the harmless host devices, bound (a user namespace may not
 * mknod). No tty: the program must not reach the terminal armlet runs in. */
static void make_dev(const struct child_ctx *c)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom"};
    if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
        child_fail(c, S_DEV);
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char host[32], inside[32];
        snprintf(host, sizeof host, "/dev/%s", nodes[i]);
        snprintf(inside, sizeof inside, "dev/%s", nodes[i]);
        int fd = open(inside, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0)
            child_fail(c, S_DEVNODE);
        close(fd);
        if (mount(host, inside, NULL, MS_BIND, NULL) < 0)
            child_fail(c, S_DEVNODE);
    }
    (void)!symlink("/proc/self/fd", "dev/fd");
    (void)!symlink("/proc/self/fd/0", "dev/stdin");
    (void)!symlink("/proc/self/fd/1", "dev/stdout");
    (void)!symlink("/proc/self/fd/2", "dev/stderr");
}

static int is_dir_nofollow(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every capability gone, also from the bounding set, so an image root that execs gets
 * none back. */
static int drop_caps(void)
{
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -1;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -1;
    return 0;
}

static int clear_cap_sets(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    return (int)syscall(SYS_capset, &h, d);
}

static int child_main(void *arg)
{
    const struct child_ctx *c = arg;
    const struct sandbox_opts *o = c->o;
    char b;
    close(c->sync_wr);
    if (read(c->sync_fd, &b, 1) != 0)   /* the parent closes it after the maps */
        child_fail(c, S_SYNC);
    close(c->sync_fd);

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(c, S_PRIVATE);
    if (mount(o->root, o->root, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(o->root) < 0)
        child_fail(c, S_BIND);
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(c, S_PROC);
    /* From here on the image's IDs (mapped, so files can be made in the new tmpfs
     * mounts); the capabilities of the new user namespace stay until dropped below. */
    if (setgroups(0, NULL) < 0 || setresgid(o->gid, o->gid, o->gid) < 0)
        child_fail(c, S_GID);
    if (setresuid(o->uid, o->uid, o->uid) < 0)
        child_fail(c, S_UID);
    make_dev(c);
    if (is_dir_nofollow("tmp") &&
        mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        child_fail(c, S_TMP);
    if (loopback_up() < 0)
        child_fail(c, S_LO);
    /* pivot_root(".", "."): the old root ends up under the new one and is detached
     * at once, so no path, .. or second chroot reaches the host's tree. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        child_fail(c, S_PIVOT);
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        child_fail(c, S_DETACH);
    (void)!sethostname("armlet-profile", 14);

    /* A session of its own: no controlling terminal of armlet's. */
    setsid();
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        dup2(fd, 0);
    dup2(2, 1);

    if (drop_caps() < 0 || clear_cap_sets() < 0)
        child_fail(c, S_CAPS);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(c, S_NNP);
    if (chdir(o->workdir && *o->workdir ? o->workdir : "/") < 0)
        child_fail(c, S_CHDIR);

    static char *const path_only[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                      "/usr/bin:/sbin:/bin", NULL};
    environ = (char **)(o->envp ? o->envp : path_only);
    execvp(o->argv[0], o->argv);
    child_fail(c, S_EXEC);
    return 127;
}

static int write_map(pid_t pid, const char *file, unsigned inside, struct err *e)
{
    char path[64], line[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    unsigned outside = inside == 0 ? SANDBOX_HOST_ROOT_ID : inside;
    int n = snprintf(line, sizeof line, "%u %u 1\n", inside, outside);
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        return err_sys(e, errno, "sandbox: writing %s", path);
    return 0;
}

/* The mount points the sandbox needs, made in the rootfs as runc does; an image whose
 * /proc or /dev is anything but a folder is refused (a symlink there would aim the
 * mounts elsewhere). */
static int mount_points(const char *root, struct err *e)
{
    cleanup_close int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return err_sys(e, errno, "%s", root);
    static const char *const dirs[] = {"proc", "dev"};
    for (size_t i = 0; i < 2; i++) {
        if (mkdirat(rfd, dirs[i], 0755) < 0 && errno != EEXIST)
            return err_sys(e, errno, "%s/%s: cannot make the mount point", root, dirs[i]);
        struct stat st;
        if (fstatat(rfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            return err_set(e, "%s/%s is not a folder: refusing to run the image", root, dirs[i]);
    }
    return 0;
}

pid_t sandbox_start(const struct sandbox_opts *o, struct err *e)
{
    if (mount_points(o->root, e) < 0)
        return ERR;
    int sync[2], report[2];
    if (pipe2(sync, O_CLOEXEC) < 0)
        return err_sys(e, errno, "pipe");
    if (pipe2(report, O_CLOEXEC) < 0) {
        close(sync[0]);
        close(sync[1]);
        return err_sys(e, errno, "pipe");
    }
    struct child_ctx c = {.o = o, .sync_fd = sync[0], .sync_wr = sync[1], .report_fd = report[1]};
    const size_t stack_size = 256 * 1024;
    char *stack = malloc(stack_size);
    pid_t pid = -1;
    int clone_errno = ENOMEM;
    if (stack) {
        pid = clone(child_main, stack + stack_size,
                    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                        CLONE_NEWUTS | SIGCHLD,
                    &c);
        clone_errno = errno;
        free(stack);   /* the child runs on its own copy of the memory */
    }
    close(sync[0]);
    close(report[1]);
    if (pid < 0) {
        close(sync[1]);
        close(report[0]);
        return err_sys(e, clone_errno, "sandbox: cannot create user, mount, PID and network "
                       "namespaces (armlet profile never runs an image unconfined; are user "
                       "namespaces disabled, e.g. user.max_user_namespaces=0?)");
    }
    int rc = 0;
    if (write_map(pid, "uid_map", o->uid, e) < 0 || write_map(pid, "gid_map", o->gid, e) < 0)
        rc = ERR;
    if (rc < 0)
        kill(pid, SIGKILL);
    close(sync[1]);
    struct failure f;
    ssize_t n = read(report[0], &f, sizeof f);   /* EOF: exec succeeded */
    close(report[0]);
    if (rc == 0 && n == (ssize_t)sizeof f) {
        const char *step = f.step >= 0 && f.step <= S_EXEC ? step_names[f.step] : "?";
        if (f.step == S_EXEC)
            err_sys(e, f.errnum, "cannot run %s in %s", o->argv[0], o->root);
        else
            err_sys(e, f.errnum, "sandbox for %s: %s", o->root, step);
        rc = ERR;
    }
    if (rc < 0) {
        waitpid(pid, NULL, 0);
        return ERR;
    }
    return pid;
}

int sandbox_enter_net(pid_t pid, int *saved, struct err *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    cleanup_close int old = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || old < 0)
        return err_sys(e, errno, "sandbox: %s", path);
    if (setns(fd, CLONE_NEWNET) < 0)
        return err_sys(e, errno, "sandbox: entering the program's network namespace");
    *saved = steal_fd(&old);
    return 0;
}

void sandbox_leave_net(int saved)
{
    if (saved >= 0) {
        (void)setns(saved, CLONE_NEWNET);
        close(saved);
    }
}
