/* tests/unit/test_metadata.c — the --metadata-file document and its atomic write
 * (builder/cli/metadata.c), and --progress (builder/cli/progress.c): mode parsing and the plain
 * line writer, which must let no control byte through. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci/media_type.h"
#include "cli/metadata.h"
#include "cli/progress.h"
#include "../unit/unit.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void test_document_and_atomic_write(void)
{
    char dir[64], path[128];
    CHECK(unit_tmpdir(dir, sizeof dir, "md") != NULL);
    snprintf(path, sizeof path, "%s/md.json", dir);
    json_t *md = metadata_new("push", NULL);
    CHECK(md != NULL);
    CHECK(metadata_set_tag(md, "v1") == 0);
    CHECK(metadata_set_image(md, OCI_MT_INDEX, D1, 300) == 0);
    CHECK(metadata_add_manifest(md, "linux/arm/v7", OCI_MT_MANIFEST, D2, 500) == 0);
    CHECK(metadata_add_pushed(md, "r.example:5000/app:v1@" D1) == 0);
    CHECK(metadata_add_pushed(md, "r.example:5000/app:latest@" D1) == 0);
    struct err e;
    err_clear(&e);
    unit_write_text(path, "old");
    CHECK(metadata_write(md, path, &e) == 0);
    json_error_t je;
    json_t *back = json_load_file(path, 0, &je);
    CHECK(back != NULL);
    CHECK_STR(D1, json_string_value(json_object_get(back, "containerimage.digest")));
    CHECK_STR("r.example:5000/app:v1,r.example:5000/app:latest", json_string_value(json_object_get(back, "image.name")));
    CHECK_STR("v1", json_string_value(json_object_get(back, "tag")));
    CHECK(json_integer_value(json_object_get(json_object_get(back, "index"), "size")) == 300);
    CHECK_STR("linux/arm/v7", json_string_value(json_object_get(json_array_get(json_object_get(back, "manifests"), 0),
                                                                "platform")));
    json_decref(back);
    /* a single manifest replaces "index" by "manifest" */
    CHECK(metadata_set_image(md, OCI_MT_MANIFEST, D2, 500) == 0);
    CHECK(json_object_get(md, "index") == NULL && json_object_get(md, "manifest") != NULL);
    /* a folder that is not there: an error naming the file, nothing written */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/none/md.json", dir);
    CHECK(metadata_write(md, bad, &e) < 0);
    CHECK(strstr(e.msg, bad) != NULL);
    json_decref(md);
    unlink(path);
    rmdir(dir);
}

static void test_progress_modes_and_plain_lines_without_control_bytes(void)
{
    enum progress_mode m;
    struct err e;
    err_clear(&e);
    CHECK(progress_parse("plain", &m, &e) == 0 && m == PROGRESS_PLAIN);
    CHECK(progress_parse("quiet", &m, &e) == 0 && m == PROGRESS_QUIET);
    CHECK(progress_parse("auto", &m, &e) == 0 && m == PROGRESS_AUTO);
    CHECK(progress_parse("tty\x1b[2J", &m, &e) < 0);
    CHECK(strstr(e.msg, "\\x1b[2J") != NULL && !strchr(e.msg, '\x1b'));
    CHECK(progress_lines(PROGRESS_QUIET).say == NULL && progress_bar(PROGRESS_QUIET).say == NULL);
    CHECK(progress_lines(PROGRESS_TTY).say == NULL && progress_bar(PROGRESS_TTY).say != NULL);
    CHECK(!progress_summary(PROGRESS_QUIET) && progress_summary(PROGRESS_PLAIN));
    /* the plain writer: stderr into a file for the moment */
    char dir[64], path[128];
    CHECK(unit_tmpdir(dir, sizeof dir, "prog") != NULL);
    snprintf(path, sizeof path, "%s/err", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    struct err_out o = progress_lines(PROGRESS_PLAIN);
    err_say(&o, "armlet: push: blob (layer 1 of linux/\x1b]0;pwned\x07, 3 bytes): uploaded\n");
    err_say(&o, "forged\rarmlet: push: tag\nx\n");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    size_t n = 0;
    unsigned char *got = unit_read_file(path, &n);
    CHECK(got != NULL);
    CHECK_STR("armlet: push: blob (layer 1 of linux/\\x1b]0;pwned\\x07, 3 bytes): uploaded\n"
              "forged\\x0darmlet: push: tag\\x0ax\n", (const char *)got);
    free(got);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    RUN(test_document_and_atomic_write);
    RUN(test_progress_modes_and_plain_lines_without_control_bytes);
    return unit_done();
}
