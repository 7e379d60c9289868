/* builder/cli/cmd_push.c — `armlet push OCI_DIR[:TAG] REF`: argument parsing only; the
 * algorithm is push.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "cli/commands.h"
#include "util/error.h"
#include "cli/metadata.h"
#include "cli/progress.h"
#include "oci/layout.h"
#include "registry/push.h"

static void usage(FILE *f)
{
    fputs("usage: armlet push OCI_DIR[:TAG] REF [OPTIONS]\n"
          "\n"
          "Push TAG of the OCI image layout OCI_DIR (an image index per tag, as `armlet build\n"
          "--oci` writes) to REF = [HOST[:PORT]/]REPO[:TAG]: every blob, then every platform\n"
          "manifest, then the index under the tag. Without :TAG the layout's only tag, or\n"
          "REF's tag, is used; REF without a tag gets the layout's tag.\n"
          "\n"
          "  --creds USER:PASS   registry credentials (else $ARMLET_REGISTRY_CREDS, else\n"
          "                      $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or\n"
          "                      ~/.docker/config.json, containers/auth.json: their auths,\n"
          "                      credsStore/credHelpers helpers, identity and registry tokens)\n"
          "  --ca-cert FILE      trust this PEM CA bundle instead of the system store\n"
          "  --insecure          plain http (a loopback registry falls back to http by itself)\n"
          "  --from REPO         mount blobs the registry already has in REPO\n"
          "  --jobs N            parallel blob uploads (default 4)\n"
          "  --retries N         retries on 5xx, 429 and dropped connections (default 5)\n"
          "  --chunk-size BYTES  upload blobs larger than this in chunks (default: one request,\n"
          "                      chunks of 8 MiB only if the registry refuses that with 413)\n"
          "  --timeout SECONDS   a request that moves no byte for this long fails (default 60;\n"
          "                      each request also ends after 5x this, plus 1 s per 16 KiB sent)\n"
          "  --verbose           one line per request on stderr (secrets never shown)\n"
          "  --progress MODE     auto (default: plain unless stderr is a terminal), plain (one\n"
          "                      line per blob and per step, no control characters), quiet\n"
          "  --metadata-file F   write the result as JSON to F (tag, digests, sizes, pushed ref)\n"
          "  --help\n"
          "\n"
          "Prints \"pushed HOST/REPO:TAG@DIGEST\". Exit status: 0 pushed, 1 failed (the tag is\n"
          "then not updated), 2 usage.\n",
          f);
}

/* The pushed image into md: what the tag names and its manifests, unless a build put
 * them there already, and the pushed reference. */
static int push_metadata(json_t *md, const struct push_result *res)
{
    if (!json_object_get(md, "index") && !json_object_get(md, "manifest")) {
        if (metadata_set_image(md, res->media, res->digest, res->size) < 0)
            return ERR;
        for (size_t i = 0; i < res->nman; i++)
            if (metadata_add_manifest(md, res->mans[i].platform, res->mans[i].media, res->mans[i].digest,
                                      res->mans[i].size) < 0)
                return ERR;
    }
    return metadata_add_pushed(md, res->pushed);
}

int cmd_push_layout(const char *dir, const char *tag, const char *ref, const struct push_opts *o,
                    enum progress_mode mode, json_t *md, struct err *e)
{
    struct push_opts po = {0};
    if (o)
        po = *o;
    mode = progress_resolve(mode);
    po.progress = progress_bar(mode);
    po.steps = progress_lines(mode);
    struct push_result res;
    if (push_layout(dir, tag, ref, &po, &res, e) < 0)
        return ERR;
    if (md && (push_metadata(md, &res) < 0 || (!json_string_length(json_object_get(md, "tag")) &&
                                               metadata_set_tag(md, res.tag) < 0))) {
        push_result_free(&res);
        return err_set(e, "pushed %s, but --metadata-file: out of memory", res.pushed);
    }
    printf("pushed %s\n", res.pushed);
    fflush(stdout);
    if (progress_summary(mode))
        fprintf(stderr,
                "armlet: push: blobs %u uploaded, %u mounted, %u already present (%.1f MiB sent in %.2f s); "
                "manifests %u sent, %zu present; tag %s\n",
                res.uploaded, res.mounted, res.present, (double)res.sent / 1048576.0, res.seconds, res.mans_sent,
                res.mans_present, res.tag_sent ? "updated" : "already up to date");
    push_result_free(&res);
    return 0;
}

/* The push command's work after parsing: push, then the --metadata-file. Exit status. */
static int push_and_report(const char *dir, const char *tag, const char *ref, const struct push_opts *o,
                           enum progress_mode mode, const char *metadata_file)
{
    struct err e;
    err_clear(&e);
    cleanup_json json_t *md = metadata_file ? metadata_new("push", NULL) : NULL;
    if (metadata_file && (!md || metadata_set_layout(md, dir) < 0)) {
        fputs("armlet: push: --metadata-file: out of memory\n", stderr);
        return 1;
    }
    if (cmd_push_layout(dir, tag, ref, o, mode, md, &e) < 0 || (md && metadata_write(md, metadata_file, &e) < 0)) {
        err_print(&e);
        return 1;
    }
    return 0;
}

static int parse_num(const char *s, long long min, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

int cmd_push(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"creds", required_argument, NULL, 'c'},   {"ca-cert", required_argument, NULL, 'C'},
        {"insecure", no_argument, NULL, 'k'},      {"from", required_argument, NULL, 'f'},
        {"jobs", required_argument, NULL, 'j'},    {"retries", required_argument, NULL, 'r'},
        {"chunk-size", required_argument, NULL, 's'}, {"verbose", no_argument, NULL, 'v'},
        {"timeout", required_argument, NULL, 't'},
        {"progress", required_argument, NULL, 'g'}, {"metadata-file", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct push_opts o = {0};
    enum progress_mode mode = PROGRESS_AUTO;
    const char *metadata_file = NULL;
    cleanup_free char *dir = NULL;   /* declared before the first goto bad_num: clang refuses a jump past a cleanup variable */
    struct err e;
    err_clear(&e);
    long long n;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.creds = optarg; break;
        case 'C': o.ca_cert = optarg; break;
        case 'k': o.insecure = true; break;
        case 'f': o.from = optarg; break;
        case 'v': o.verbose = (struct err_out){.say = err_out_stderr}; break;
        case 'j':
            if (parse_num(optarg, 1, &n) < 0 || n > 64)
                goto bad_num;
            o.jobs = (int)n;
            break;
        case 'r':
            if (parse_num(optarg, 0, &n) < 0 || n > 100)
                goto bad_num;
            o.retries = n == 0 ? -1 : (int)n;
            break;
        case 's':
            if (parse_num(optarg, 1, &n) < 0)
                goto bad_num;
            o.chunk_size = n;
            break;
        case 't':
            if (parse_num(optarg, 1, &n) < 0 || n > 86400)
                goto bad_num;
            o.timeout = (long)n;
            break;
        case 'g':
            if (progress_parse(optarg, &mode, &e) < 0) {
                err_print(&e);
                return 2;
            }
            break;
        case 'm': metadata_file = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    /* OCI_DIR[:TAG] (layout_arg_split); "DIR:" is a usage error, not a folder named so */
    const char *arg = argv[optind], *tag = NULL;
    size_t len = strlen(arg);
    struct stat st;
    if (len > 1 && arg[len - 1] == ':' && !(stat(arg, &st) == 0 && S_ISDIR(st.st_mode))) {
        fprintf(stderr, "armlet: push: empty tag in \"%s\"\n", arg);
        return 2;
    }
    if (layout_arg_split(arg, &dir, &tag) < 0) {
        fputs("armlet: push: out of memory\n", stderr);
        return 1;
    }
    return push_and_report(dir, tag, argv[optind + 1], &o, mode, metadata_file);
bad_num:
    fprintf(stderr, "armlet: push: --%s: \"%s\" is not a valid number\n",
            c == 'j' ? "jobs (1-64)" : c == 'r' ? "retries (0-100)" : c == 't' ? "timeout (1-86400 s)" :
            "chunk-size (bytes)", optarg);
    return 2;
}
