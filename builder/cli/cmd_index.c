/* builder/cli/cmd_index.c — `armlet index create|add DEST SRC...`: argument parsing and the
 * report; the merge is index.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "cli/commands.h"
#include "util/error.h"
#include "registry/index.h"
#include "oci/media_type.h"
#include "cli/metadata.h"
#include "cli/progress.h"

static void usage(FILE *f)
{
    fputs("usage: armlet index create DEST SRC... [OPTIONS]\n"
          "       armlet index add    DEST SRC... [OPTIONS]\n"
          "\n"
          "Merge images into one multi-platform image index at DEST. DEST and SRC are OCI\n"
          "layouts (oci:DIR[:TAG]) or registry references ([docker://]HOST/REPO[:TAG][@sha256:...]).\n"
          "A SRC that is an index gives its platform manifests, a single manifest itself (its\n"
          "platform read from its config). `add` keeps DEST's manifests and adds the SRCs'.\n"
          "The manifests are sorted by platform (amd64, arm64, arm/v7, arm/v6, others), so\n"
          "the same inputs give the same index digest in any order. Blobs already in DEST's\n"
          "registry are not sent; a SRC in another repository of the same registry is\n"
          "mounted; DEST's tag is written last, once everything it names is there.\n"
          "\n"
          "  --replace               a platform given twice: the later SRC wins (default: error)\n"
          "  --annotation [index:]KEY=VALUE   set an annotation of the index (repeatable)\n"
          "  --creds USER:PASS       registry credentials (else $ARMLET_REGISTRY_CREDS, else the\n"
          "                          docker config), for every registry named\n"
          "  --ca-cert FILE          trust this PEM CA bundle instead of the system store\n"
          "  --insecure              plain http (a loopback registry falls back to http by itself)\n"
          "  --retries N             retries on 5xx, 429 and dropped connections (default 5)\n"
          "  --timeout SECONDS       a request that moves no byte for this long fails (default 60)\n"
          "  --verbose               one line per request on stderr (secrets never shown)\n"
          "  --progress MODE         auto (default), plain (one line per blob, manifest and the\n"
          "                          tag, no control characters) or quiet (no summary either)\n"
          "  --metadata-file F       write the result as JSON to F (tag, index and manifest\n"
          "                          digests and sizes, the pushed ref), only when it succeeded\n"
          "  --help\n"
          "\n"
          "Prints \"DEST@DIGEST\" and one line per platform. Exit status: 0 written, 1 failed\n"
          "(DEST's tag not updated), 2 usage.\n",
          f);
}

/* The written index into md: what the tag names, its manifests, and for a registry DEST
 * the pushed reference (as buildx's "containerimage.digest"/"image.name" too). */
static int index_metadata(json_t *md, const struct index_result *res)
{
    if (metadata_set_tag(md, res->tag) < 0 || (res->layout[0] && metadata_set_layout(md, res->layout) < 0) ||
        metadata_set_image(md, OCI_MT_INDEX, res->digest, res->size) < 0)
        return ERR;
    for (size_t i = 0; i < res->nman; i++)
        if (metadata_add_manifest(md, res->mans[i].platform, res->mans[i].media, res->mans[i].digest,
                                  res->mans[i].size) < 0)
            return ERR;
    char pushed[sizeof res->dest + sizeof res->digest + 1];
    snprintf(pushed, sizeof pushed, "%s@%s", res->dest, res->digest);
    return res->layout[0] ? 0 : metadata_add_pushed(md, pushed);
}

/* The work after parsing: merge, the report, then the --metadata-file. Exit status. */
static int index_and_report(const char *dest, const char *const *srcs, size_t nsrc, struct index_opts *o,
                            enum progress_mode mode, const char *metadata_file)
{
    struct err e;
    err_clear(&e);
    mode = progress_resolve(mode);
    o->steps = progress_lines(mode);
    cleanup_json json_t *md = metadata_file ? metadata_new("index", NULL) : NULL;
    struct index_result *res = malloc(sizeof *res);
    int rc = !res || (metadata_file && !md) ? err_set(&e, "out of memory")
                                             : index_run(dest, srcs, nsrc, o, res, &e);
    if (rc == 0 && md && index_metadata(md, res) < 0)
        rc = err_set(&e, "wrote %s@%s, but --metadata-file: out of memory", res->dest, res->digest);
    if (rc == 0) {
        printf("%s@%s\n", res->dest, res->digest);
        for (size_t i = 0; i < res->nman; i++)
            printf("  %-13s %s\n", res->mans[i].platform, res->mans[i].digest);
        fflush(stdout);
        if (progress_summary(mode))
            fprintf(stderr,
                    "armlet: index: blobs %u copied, %u mounted, %u already present (%lld bytes sent); "
                    "manifests %u written, %u present; tag %s (%.2f s)\n",
                    res->blobs_copied, res->blobs_mounted, res->blobs_present, res->bytes_sent,
                    res->mans_written, res->mans_present, res->tag_written ? "updated" : "already up to date",
                    res->seconds);
    }
    free(res);
    if (rc == 0 && md)
        rc = metadata_write(md, metadata_file, &e);
    if (rc < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
}

int cmd_index(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"replace", no_argument, NULL, 'R'},       {"annotation", required_argument, NULL, 'a'},
        {"creds", required_argument, NULL, 'c'},   {"ca-cert", required_argument, NULL, 'C'},
        {"insecure", no_argument, NULL, 'k'},      {"retries", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'}, {"verbose", no_argument, NULL, 'v'},
        {"progress", required_argument, NULL, 'g'}, {"metadata-file", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "add") != 0)) {
        fputs("armlet: index: expected create or add\n", stderr);
        usage(stderr);
        return 2;
    }
    struct index_opts o = {.add = !strcmp(argv[1], "add"), .reach = {.retries = 5}};
    const char **annots = calloc((size_t)argc, sizeof *annots);
    if (!annots)
        return 1;
    size_t nannots = 0;
    enum progress_mode mode = PROGRESS_AUTO;
    const char *metadata_file = NULL;
    struct err e;
    err_clear(&e);
    int c;
    char *end;
    long v;
    optind = 2;
    while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'R': o.replace = true; break;
        case 'a': annots[nannots++] = optarg; break;
        case 'c': o.reach.creds = optarg; break;
        case 'C': o.reach.ca_cert = optarg; break;
        case 'k': o.reach.insecure = true; break;
        case 'v': o.reach.verbose = (struct err_out){.say = err_out_stderr}; break;
        case 'r':
        case 't':
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < (c == 'r' ? 0 : 1) || v > (c == 'r' ? 100 : 86400)) {
                fprintf(stderr, "armlet: index: --%s: \"%s\" is not a valid number\n",
                        c == 'r' ? "retries (0-100)" : "timeout (1-86400 s)", optarg);
                free(annots);
                return 2;
            }
            if (c == 'r')
                o.reach.retries = (int)v;
            else
                o.reach.timeout = v;
            break;
        case 'g':
            if (progress_parse(optarg, &mode, &e) < 0) {
                err_print(&e);
                free(annots);
                return 2;
            }
            break;
        case 'm': metadata_file = optarg; break;
        case 'h': usage(stdout); free(annots); return 0;
        default: usage(stderr); free(annots); return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "armlet: index %s: expected DEST and at least one SRC\n", argv[1]);
        usage(stderr);
        free(annots);
        return 2;
    }
    o.annotations = annots;
    o.nannotations = nannots;
    int rc = index_and_report(argv[optind], (const char *const *)argv + optind + 1, (size_t)(argc - optind - 1),
                              &o, mode, metadata_file);
    free(annots);
    return rc;
}
