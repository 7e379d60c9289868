/* builder/image/base.c — see base.h.
 *
 * Choices, measured against gcr.io/distroless/static (Debian 12 based):
 * - users and groups are distroless's, byte for byte in meaning: root, nobody, nonroot;
 *   every login shell /sbin/nologin (which does not exist: nobody logs in).
 * - zoneinfo: Debian's tree minus right/ (the leap-second "right" variants, which
 *   nothing in a container uses; they are half of tzdata's bytes). posix/ stays: on
 *   Debian 12 it is a folder of symlinks and costs nothing.
 * - os-release says what the image is: armlet's static base, not Debian, so scanners
 *   do not look for a dpkg database that is not there.
 */
#include "image/base.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

const struct base_sources base_default_sources = {
    .ca_bundle = "/etc/ssl/certs/ca-certificates.crt",
    .zoneinfo = "/usr/share/zoneinfo",
};

static const char PASSWD[] =
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";

static const char GROUP[] =
    "root:x:0:\n"
    "tty:x:5:\n"
    "staff:x:50:\n"
    "nobody:x:65534:\n"
    "nonroot:x:65532:\n";

static const char NSSWITCH[] =
    "passwd:         files\n"
    "group:          files\n"
    "shadow:         files\n"
    "hosts:          files dns\n"
    "networks:       files\n"
    "protocols:      files\n"
    "services:       files\n"
    "ethers:         files\n"
    "rpc:            files\n";

static const char OS_RELEASE[] =
    "PRETTY_NAME=\"armlet static base (distroless-style, no package manager)\"\n"
    "NAME=\"armlet static\"\n"
    "ID=armlet\n";

static int add_text(struct tree *t, const char *path, const char *text, struct err *e)
{
    return tree_add_data(t, path, text, strlen(text), 0644, 0, 0, e);
}

/* A host file the base needs, with the package to install when it is missing. */
static int check_host(const char *path, const char *package, int want_dir, struct err *e)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return err_sys(e, errno, "%s (install Debian's %s)", path, package);
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return err_set(e, "%s: not a %s (Debian's %s)", path, want_dir ? "folder" : "file",
                       package);
    return 0;
}

static int add_static(struct tree *t, const struct base_sources *src, struct err *e)
{
    if (check_host(src->ca_bundle, "ca-certificates", 0, e) < 0 ||
        check_host(src->zoneinfo, "tzdata", 1, e) < 0)
        return ERR;
    if (add_text(t, "/etc/passwd", PASSWD, e) < 0 || add_text(t, "/etc/group", GROUP, e) < 0 ||
        add_text(t, "/etc/nsswitch.conf", NSSWITCH, e) < 0 ||
        add_text(t, "/etc/os-release", OS_RELEASE, e) < 0 ||
        tree_add_dir(t, "/etc/armlet", 0755, 0, 0, e) < 0 ||
        tree_add_dir(t, "/root", 0700, 0, 0, e) < 0 ||
        tree_add_dir(t, "/home/nonroot", 0700, BASE_NONROOT_UID, BASE_NONROOT_UID, e) < 0 ||
        tree_add_dir(t, "/tmp", 01777, 0, 0, e) < 0 ||
        tree_add_file(t, BASE_SSL_CERT_FILE, src->ca_bundle, 0644, 0, 0, e) < 0 ||
        tree_add_hostdir(t, "/usr/share/zoneinfo", src->zoneinfo, 0, 0, e) < 0 ||
        tree_remove(t, "/usr/share/zoneinfo/right", e) < 0)
        return ERR;
    /* The zoneinfo folder itself gets a fixed mode, whatever the host's umask made it. */
    return tree_add_dir(t, "/usr/share/zoneinfo", 0755, 0, 0, e);
}

int base_add_from(struct tree *t, enum recipe_base b, const struct platform *p,
                  const char *init_path, const struct base_sources *src, struct err *e)
{
    struct stat st;
    if (!init_path || stat(init_path, &st) < 0)
        return err_sys(e, init_path ? errno : ENOENT, "armlet-init for %s: %s", p->oci,
                       init_path ? init_path : "(none)");
    if (tree_add_file(t, BASE_INIT_PATH, init_path, 0755, 0, 0, e) < 0)
        return err_ctx(e, "armlet-init for %s", p->oci);
    if (b == BASE_STATIC && add_static(t, src, e) < 0)
        return err_ctx(e, "base static");
    return 0;
}

int base_add(struct tree *t, enum recipe_base b, const struct platform *p,
             const char *init_path, struct err *e)
{
    return base_add_from(t, b, p, init_path, &base_default_sources, e);
}
