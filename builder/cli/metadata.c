/* builder/cli/metadata.c — see metadata.h. */
#include "cli/metadata.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdio.h"
#include "oci/media_type.h"

/* Set key to a new value, taking the reference; ERR when v is NULL (out of memory). */
static int put(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0 ? 0 : ERR;
}

json_t *metadata_new(const char *command, const char *tag)
{
    json_t *md = json_object();
    if (!md || put(md, "version", json_integer(1)) < 0 || put(md, "command", json_string(command)) < 0 ||
        put(md, "tag", json_string(tag ? tag : "")) < 0 || put(md, "manifests", json_array()) < 0 ||
        put(md, "pushed", json_array()) < 0) {
        json_decref(md);
        return NULL;
    }
    return md;
}

int metadata_set_tag(json_t *md, const char *tag)
{
    return put(md, "tag", json_string(tag));
}

int metadata_set_layout(json_t *md, const char *dir)
{
    return put(md, "layout", json_string(dir));
}

static json_t *descriptor(const char *media_type, const char *digest, long long size)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t)size);
}

int metadata_set_image(json_t *md, const char *media_type, const char *digest, long long size)
{
    bool index = !strcmp(media_type, OCI_MT_INDEX) || !strcmp(media_type, DOCKER_MT_LIST);
    json_object_del(md, index ? "manifest" : "index");
    if (put(md, index ? "index" : "manifest", descriptor(media_type, digest, size)) < 0)
        return ERR;
    return put(md, "containerimage.digest", json_string(digest));
}

int metadata_add_manifest(json_t *md, const char *platform, const char *media_type, const char *digest,
                          long long size)
{
    json_t *d = descriptor(media_type, digest, size);
    if (!d || put(d, "platform", json_string(platform ? platform : "")) < 0) {
        json_decref(d);
        return ERR;
    }
    return json_array_append_new(json_object_get(md, "manifests"), d) == 0 ? 0 : ERR;
}

int metadata_add_pushed(json_t *md, const char *ref_with_digest)
{
    if (json_array_append_new(json_object_get(md, "pushed"), json_string(ref_with_digest)) != 0)
        return ERR;
    /* image.name as buildx writes it: the names without digest, comma-separated */
    const char *old = json_string_value(json_object_get(md, "image.name"));
    size_t n = strcspn(ref_with_digest, "@");
    cleanup_free char *names = NULL;
    if (asprintf(&names, "%s%s%.*s", old ? old : "", old ? "," : "", (int)n, ref_with_digest) < 0)
        return ERR;
    return put(md, "image.name", json_string(names));
}

int metadata_write(const json_t *md, const char *path, struct err *e)
{
    cleanup_free char *text = json_dumps(md, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return err_set(e, "--metadata-file %s: out of memory", path);
    /* the temporary file goes beside path, so the rename stays in one file system */
    const char *slash = strrchr(path, '/');
    int dlen = slash ? (slash == path ? 1 : (int)(slash - path)) : 1;
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%.*s/.armlet-metadata.XXXXXX", dlen, slash ? path : ".") >= (int)sizeof tmp)
        return err_set(e, "--metadata-file %s: path too long", path);
    cleanup_close int fd = mkstemp(tmp);
    if (fd < 0)
        return err_sys(e, errno, "--metadata-file %s: cannot create a temporary file beside it", path);
    size_t len = strlen(text);
    if (fdio_write_all(fd, text, len) < 0 || fdio_write_all(fd, "\n", 1) < 0 || fchmod(fd, 0644) < 0 ||
        fsync(fd) < 0 || rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return err_sys(e, saved, "--metadata-file %s", path);
    }
    return 0;
}
