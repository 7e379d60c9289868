/* tests/bench/layertool.c — drive tree.c / layer.c / base.c from scripts (tests, bench).
 *
 *   layertool [--compress gzip|zstd|none] [--epoch N] [--rootfs DIR] BLOBS_DIR SPEC...
 *
 * SPEC adds to one tree, in order:
 *   hostdir:DEST=PATH    a host folder          archive:DEST=PATH   an archive, unpacked
 *   file:DEST=PATH       a host file (0755)     base:static=INIT / base:scratch=INIT
 * Writes one layer into BLOBS_DIR (unless BLOBS_DIR is "-") and prints
 *   <digest> <diff_id> <size> <media type>
 * and, with --rootfs, also writes the tree there. Exit 0, or 1 with the error on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/base.h"
#include "image/layer.h"
#include "image/tree.h"

static int usage(void)
{
    fprintf(stderr, "usage: layertool [--compress gzip|zstd|none] [--epoch N] [--rootfs DIR] "
                    "BLOBS_DIR SPEC...\n");
    return 2;
}

static int add_spec(struct tree *t, const char *spec, struct err *e)
{
    const char *colon = strchr(spec, ':'), *eq = colon ? strchr(colon, '=') : NULL;
    if (!colon || !eq)
        return err_set(e, "spec \"%s\": expected KIND:DEST=PATH", spec);
    char kind[32], dest[4096];
    snprintf(kind, sizeof kind, "%.*s", (int)(colon - spec), spec);
    snprintf(dest, sizeof dest, "%.*s", (int)(eq - colon - 1), colon + 1);
    const char *path = eq + 1;
    if (strcmp(kind, "hostdir") == 0)
        return tree_add_hostdir(t, dest, path, 0, 0, e);
    if (strcmp(kind, "archive") == 0)
        return tree_add_archive(t, dest, path, e);
    if (strcmp(kind, "file") == 0)
        return tree_add_file(t, dest, path, 0755, 0, 0, e);
    if (strcmp(kind, "base") == 0) {
        enum recipe_base b;
        if (strcmp(dest, "static") == 0)
            b = BASE_STATIC;
        else if (strcmp(dest, "scratch") == 0)
            b = BASE_SCRATCH;
        else
            return err_set(e, "base \"%s\": static or scratch", dest);
        return base_add(t, b, platform_lookup("linux/amd64"), path, e);
    }
    return err_set(e, "spec \"%s\": unknown kind \"%s\"", spec, kind);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    enum compress c = COMPRESS_GZIP;
    long long epoch = 0;
    const char *rootfs = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--compress") == 0) {
            if (layer_compress_parse(argv[++i], &c, &e) < 0) {
                err_print(&e);
                return 2;
            }
        } else if (strcmp(argv[i], "--epoch") == 0) {
            epoch = strtoll(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rootfs") == 0) {
            rootfs = argv[++i];
        } else {
            return usage();
        }
    }
    if (argc - i < 2)
        return usage();
    const char *blobs = argv[i++];
    struct tree *t = tree_new();
    int rc = t ? 0 : err_set(&e, "out of memory");
    for (; i < argc && rc == 0; i++)
        rc = add_spec(t, argv[i], &e);
    struct layer_result r;
    if (rc == 0 && strcmp(blobs, "-") != 0 && (rc = layer_write(t, c, epoch, blobs, &r, &e)) == 0)
        printf("%s %s %llu %s\n", r.digest, r.diff_id, (unsigned long long)r.size, r.media_type);
    if (rc == 0 && rootfs)
        rc = tree_write_dir(t, rootfs, epoch, &e);
    tree_free(t);
    if (rc < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
}
