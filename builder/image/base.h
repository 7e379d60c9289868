/* builder/image/base.h — the content of `base static` and `base scratch` (docs/DESIGN.md, "Images").
 *
 *     struct tree *t = tree_new();
 *     if (base_add(t, r->base, plat, "/usr/lib/armlet/linux-arm64/armlet-init", e) < 0) ...
 *     layer_write(t, ...);      // the base layer, shared by every image of this base
 *
 * Both bases get /sbin/armlet-init (0755 0:0, read from init_path: the caller finds it).
 * BASE_STATIC adds what distroless/static has, from the build host's packages:
 *   /etc/passwd, /etc/group      root 0, nobody 65534, nonroot 65532 (and groups tty 5, staff 50)
 *   /etc/nsswitch.conf, /etc/os-release (ID=armlet)
 *   /root 0700, /home/nonroot 0700 65532:65532, /tmp 1777, /etc/armlet/
 *   /etc/ssl/certs/ca-certificates.crt   Debian's ca-certificates bundle
 *   /usr/share/zoneinfo                  Debian's tzdata, without right/ (see base.c)
 * Nothing in it depends on the platform but the init, and nothing on the time of the
 * build: the same host packages give the same tree, so the same layer digest.
 * The image config should set SSL_CERT_FILE=BASE_SSL_CERT_FILE for BASE_STATIC.
 */
#ifndef ARMLET_BASE_H
#define ARMLET_BASE_H
#include "util/error.h"
#include "util/platform.h"
#include "recipe/recipe.h"
#include "image/tree.h"

#define BASE_INIT_PATH "/sbin/armlet-init"
#define BASE_SSL_CERT_FILE "/etc/ssl/certs/ca-certificates.crt"
#define BASE_NONROOT_UID 65532u

/* Where the host's files come from; base_add uses base_default_sources. */
struct base_sources {
    const char *ca_bundle;   /* /etc/ssl/certs/ca-certificates.crt */
    const char *zoneinfo;    /* /usr/share/zoneinfo */
};
extern const struct base_sources base_default_sources;

/* Add the base's nodes to t. Returns 0, or ERR with e naming the missing host file and
 * the Debian package that provides it, or the init missing for platform p. */
int base_add(struct tree *t, enum recipe_base b, const struct platform *p,
             const char *init_path, struct err *e);
/* Same, with the host files taken from src (tests). */
int base_add_from(struct tree *t, enum recipe_base b, const struct platform *p,
                  const char *init_path, const struct base_sources *src, struct err *e);

#endif
