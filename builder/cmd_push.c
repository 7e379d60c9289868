/* builder/cmd_push.c — `armlet push OCI_DIR[:TAG] REF`: argument parsing only; the
 * algorithm is push.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "error.h"
#include "push.h"

static void usage(FILE *f)
{
    fputs("usage: armlet push OCI_DIR[:TAG] REF [OPTIONS]\n"
          "\n"
          "Push TAG of the OCI image layout OCI_DIR (an image index per tag, as `armlet build\n"
          "--oci` writes) to REF = [HOST[:PORT]/]REPO[:TAG]: every blob, then every platform\n"
          "manifest, then the index under the tag. Without :TAG the layout's only tag, or\n"
          "REF's tag, is used; REF without a tag gets the layout's tag.\n"
          "\n"
          "  --creds USER:PASS   registry credentials (else $ARMLET_REGISTRY_CREDS, else the\n"
          "                      \"auths\" of $DOCKER_CONFIG/config.json or ~/.docker/config.json)\n"
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
          "  --help\n"
          "\n"
          "Prints \"pushed HOST/REPO:TAG@DIGEST\". Exit status: 0 pushed, 1 failed (the tag is\n"
          "then not updated), 2 usage.\n",
          f);
}

int cmd_push_layout(const char *dir, const char *tag, const char *ref, const struct push_opts *o,
                    struct err *e)
{
    struct push_opts po = {0};
    if (o)
        po = *o;
    if (isatty(STDERR_FILENO) == 1)
        po.progress = (struct err_out){.say = err_out_stderr};
    struct push_result res;
    if (push_layout(dir, tag, ref, &po, &res, e) < 0)
        return ERR;
    printf("pushed %s\n", res.pushed);
    fflush(stdout);
    fprintf(stderr,
            "armlet: push: blobs %u uploaded, %u mounted, %u already present (%.1f MiB sent in %.2f s); "
            "manifests %u sent, %zu present; tag %s\n",
            res.uploaded, res.mounted, res.present, (double)res.sent / 1048576.0, res.seconds, res.mans_sent,
            res.mans_present, res.tag_sent ? "updated" : "already up to date");
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
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct push_opts o = {0};
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
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    /* OCI_DIR[:TAG]: the tag is after the last ':' past the last '/', unless the whole
     * argument names an existing directory. */
    char *dir = argv[optind];
    const char *tag = NULL;
    struct stat st;
    char *colon = strrchr(dir, ':');
    if (colon && !strchr(colon, '/') && !(stat(dir, &st) == 0 && S_ISDIR(st.st_mode))) {
        *colon = '\0';
        tag = colon + 1;
        if (!*tag) {
            fprintf(stderr, "armlet: push: empty tag in \"%s:\"\n", dir);
            return 2;
        }
    }
    struct err e;
    err_clear(&e);
    if (cmd_push_layout(dir, tag, argv[optind + 1], &o, &e) < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
bad_num:
    fprintf(stderr, "armlet: push: --%s: \"%s\" is not a valid number\n",
            c == 'j' ? "jobs (1-64)" : c == 'r' ? "retries (0-100)" : c == 't' ? "timeout (1-86400 s)" :
            "chunk-size (bytes)", optarg);
    return 2;
}
