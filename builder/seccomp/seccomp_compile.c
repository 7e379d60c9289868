/* builder/seccomp/seccomp_compile.c — Docker/OCI seccomp profile (jansson) -> libseccomp -> raw BPF.
 * See seccomp_compile.h for the semantics. One libseccomp context per architecture (each rule's
 * names resolved on that arch, unknown ones skipped), merged into one filter at the end.
 */
#include "seccomp/seccomp_compile.h"
#include "seccomp/seccomp_compact.h"
#include "seccomp/seccomp_enosys.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "util/cleanup.h"

#define MAX_ARCHES 3

/* The target's arches: [0] is its own, the rest the compat arches it may also run. */
struct arch_set {
    uint32_t arch[MAX_ARCHES];
    int n;
};

/* Every architecture name of the OCI runtime spec (and Docker's profiles), with its
 * libseccomp token; 0 where this libseccomp has none (its rules then compile for no arch,
 * but the name is valid). A name not here is an error: a typo would otherwise drop an
 * architecture silently. */
static const struct { const char *name; uint32_t arch; } arch_names[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},         {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},         {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64}, {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},   {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},   {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},         {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE}, {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},     {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
#ifdef SCMP_ARCH_RISCV64
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#else
    {"SCMP_ARCH_RISCV64", 0},
#endif
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},           {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#else
    {"SCMP_ARCH_SH", 0},                      {"SCMP_ARCH_SHEB", 0},
#endif
};
#define N_ARCH_NAMES (sizeof arch_names / sizeof arch_names[0])

/* The libseccomp token of architecture name s (0: valid, not in this libseccomp);
 * -1 when s is no architecture name. */
static int arch_lookup(const char *s, uint32_t *arch)
{
    for (size_t i = 0; i < N_ARCH_NAMES; i++)
        if (!strcmp(arch_names[i].name, s)) {
            *arch = arch_names[i].arch;
            return 0;
        }
    return -1;
}

/* Architecture of JSON string j at `field`, or ERR naming the field. */
static int arch_of(const json_t *j, uint32_t *arch, const char *name, const char *field,
                   struct err *e)
{
    if (!json_is_string(j))
        return err_set(e, "%s: %s: expected an architecture name \"SCMP_ARCH_...\"", name, field);
    if (arch_lookup(json_string_value(j), arch) < 0)
        return err_set(e, "%s: %s: unknown architecture \"%s\"", name, field, json_string_value(j));
    return 0;
}

/* Own arch and the compat arches the kernel of platform p can also run. */
static int target_arches(const struct platform *p, uint32_t *own, uint32_t compat[2], int *ncompat)
{
    *ncompat = 0;
    if (!strcmp(p->arch, "amd64")) {
        *own = SCMP_ARCH_X86_64;
        compat[0] = SCMP_ARCH_X86;
        compat[1] = SCMP_ARCH_X32;
        *ncompat = 2;
    } else if (!strcmp(p->arch, "arm64")) {
        *own = SCMP_ARCH_AARCH64;
        compat[0] = SCMP_ARCH_ARM;
        *ncompat = 1;
    } else if (!strcmp(p->arch, "arm")) {
        *own = SCMP_ARCH_ARM;
    } else {
        return -1;
    }
    return 0;
}

static void set_add(struct arch_set *s, uint32_t a)
{
    for (int i = 0; i < s->n; i++)
        if (s->arch[i] == a)
            return;
    if (s->n < MAX_ARCHES)
        s->arch[s->n++] = a;
}

/* Adds arch named by JSON string j to s when it is one of the target's compat arches. */
static int add_if_compat(struct arch_set *s, const json_t *j, const uint32_t *compat, int ncompat,
                         const char *name, const char *field, struct err *e)
{
    uint32_t a;
    if (arch_of(j, &a, name, field, e) < 0)
        return ERR;
    for (int i = 0; i < ncompat; i++)
        if (a && a == compat[i])
            set_add(s, a);
    return 0;
}

/* Every name in the profile's archMap (or architectures) is validated, whether or not it
 * concerns the target. */
static int resolve_arches(const json_t *root, const struct platform *p, unsigned flags,
                          struct arch_set *s, const char *name, struct err *e)
{
    uint32_t own, compat[2];
    int ncompat;
    char field[96];
    if (target_arches(p, &own, compat, &ncompat) < 0)
        return err_set(e, "%s: platform %s has no seccomp architecture", name, p->oci);
    s->n = 0;
    set_add(s, own);
    if (flags & SECCOMP_COMPILE_NATIVE_ONLY)
        ncompat = 0; /* the profile's lists are still validated, none is added */
    const json_t *map = json_object_get(root, "archMap");
    const json_t *list = json_object_get(root, "architectures");
    if (map && !json_is_null(map)) {
        if (!json_is_array(map))
            return err_set(e, "%s: archMap: expected an array", name);
        size_t i;
        const json_t *ent;
        json_array_foreach(map, i, ent) {
            uint32_t a;
            snprintf(field, sizeof field, "archMap[%zu].architecture", i);
            if (!json_is_object(ent))
                return err_set(e, "%s: archMap[%zu]: expected an object", name, i);
            if (arch_of(json_object_get(ent, "architecture"), &a, name, field, e) < 0)
                return ERR;
            const json_t *subs = json_object_get(ent, "subArchitectures");
            if (subs && !json_is_null(subs) && !json_is_array(subs))
                return err_set(e, "%s: archMap[%zu].subArchitectures: expected an array", name, i);
            size_t k;
            const json_t *sub;
            json_array_foreach(subs, k, sub) {
                snprintf(field, sizeof field, "archMap[%zu].subArchitectures[%zu]", i, k);
                if (add_if_compat(s, sub, compat, a == own ? ncompat : 0, name, field, e) < 0)
                    return ERR;
            }
        }
    } else if (list && !json_is_null(list)) {
        if (!json_is_array(list))
            return err_set(e, "%s: architectures: expected an array", name);
        size_t i;
        const json_t *a;
        json_array_foreach(list, i, a) {
            snprintf(field, sizeof field, "architectures[%zu]", i);
            if (add_if_compat(s, a, compat, ncompat, name, field, e) < 0)
                return ERR;
        }
    }
    return 0;
}

/* "SCMP_ACT_ERRNO" + errnoRet -> libseccomp action. errno_ret < 0: not given. */
static int parse_action(const json_t *j, long long errno_ret, uint32_t *act, const char *name,
                        const char *field, struct err *e)
{
    if (!json_is_string(j))
        return err_set(e, "%s: %s: expected an action string \"SCMP_ACT_...\"", name, field);
    const char *s = json_string_value(j);
    uint32_t ret = errno_ret < 0 ? EPERM : (uint32_t)errno_ret;
    if (!strcmp(s, "SCMP_ACT_ALLOW"))
        *act = SCMP_ACT_ALLOW;
    else if (!strcmp(s, "SCMP_ACT_ERRNO"))
        *act = SCMP_ACT_ERRNO(ret);
    else if (!strcmp(s, "SCMP_ACT_KILL") || !strcmp(s, "SCMP_ACT_KILL_THREAD"))
        *act = SCMP_ACT_KILL_THREAD;
    else if (!strcmp(s, "SCMP_ACT_KILL_PROCESS"))
        *act = SCMP_ACT_KILL_PROCESS;
    else if (!strcmp(s, "SCMP_ACT_TRAP"))
        *act = SCMP_ACT_TRAP;
    else if (!strcmp(s, "SCMP_ACT_TRACE"))
        *act = SCMP_ACT_TRACE(ret);
    else if (!strcmp(s, "SCMP_ACT_LOG"))
        *act = SCMP_ACT_LOG;
    else if (!strcmp(s, "SCMP_ACT_NOTIFY"))
        return err_set(e, "%s: %s: SCMP_ACT_NOTIFY needs a runtime listener; armlet-init has none",
                       name, field);
    else
        return err_set(e, "%s: %s: unknown action \"%s\"", name, field, s);
    return 0;
}

/* Optional non-negative errno field: -1 when absent or null. */
static int parse_errno(const json_t *obj, const char *key, long long *out, const char *name,
                       const char *where, struct err *e)
{
    const json_t *j = json_object_get(obj, key);
    *out = -1;
    if (!j || json_is_null(j))
        return 0;
    /* libseccomp refuses more than MAX_ERRNO (4095), as the kernel's -errno range does */
    if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > 4095)
        return err_set(e, "%s: %s%s: expected an errno number 0..4095", name, where, key);
    *out = json_integer_value(j);
    return 0;
}

static int parse_op(const char *s, enum scmp_compare *op)
{
    static const struct { const char *name; enum scmp_compare op; } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].name, s)) {
            *op = ops[i].op;
            return 0;
        }
    return -1;
}

/* Argument values are uint64 in Docker's format (Go's encoding/json takes up to
 * 18446744073709551615), but jansson holds integers as long long and refuses a literal
 * from 2^63 up as "too big integer"; JSON_DECODE_INT_AS_REAL would round it. So before
 * parsing, each such literal is rewritten in place to a string of exactly its length:
 * "\u0000" then the value in base-64 digits (11, or 12 with a leading zero digit), so
 * jansson's line:column in errors stay true. The original text may not contain "\u0000"
 * (jansson refuses it by default, and so do we), so only the rewrite makes these
 * "marked" strings; args[].value/valueTwo decode them (parse_u64), and everywhere else
 * they are turned back into plain numbers (reals) by unmark(), so a misplaced big number
 * gets the same message as any number there. */
static const char b64[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

static int is_marked(const json_t *j)
{
    return json_is_string(j) && json_string_length(j) > 1 && json_string_value(j)[0] == '\0';
}

static uint64_t marked_value(const json_t *j)
{
    uint64_t v = 0;
    const char *s = json_string_value(j);
    for (size_t i = 1; i < json_string_length(j); i++)
        v = v << 6 | (uint64_t)(strchr(b64, s[i]) - b64);
    return v;
}

static int json_delim(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ':' || c == '[' ||
           c == ']' || c == '{' || c == '}';
}

/* *out: a rewritten copy of json (malloc'd, same length) when it holds a literal in
 * 2^63..2^64-1, else NULL. ERR for "\u0000" in a string. */
static int mark_big_integers(const char *json, size_t n, char **out, const char *name,
                             struct err *e)
{
    int in_str = 0, line = 1;
    size_t line_start = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        char c = json[i];
        if (c == '\n') {
            line++;
            line_start = i + 1;
        } else if (in_str) {
            if (c == '"')
                in_str = 0;
            else if (c == '\\' && i + 5 < n && !memcmp(json + i + 1, "u0000", 5))
                return err_set(e, "%s:%d:%zu: invalid JSON: \\u0000 is not allowed", name, line,
                               i - line_start + 1);
            else if (c == '\\')
                i++; /* the escaped character cannot end the string */
        } else if (c == '"') {
            in_str = 1;
        } else if (c >= '1' && c <= '9' && (i == 0 || json_delim(json[i - 1]))) {
            size_t j = i;
            while (j < n && json[j] >= '0' && json[j] <= '9')
                j++;
            char digits[21];
            uint64_t v;
            if ((j - i == 19 || j - i == 20) && (j == n || json_delim(json[j]))) {
                memcpy(digits, json + i, j - i);
                digits[j - i] = '\0';
                errno = 0;
                v = strtoull(digits, NULL, 10);
                if (errno == 0 && v > INT64_MAX) {
                    if (!*out) {
                        if (!(*out = malloc(n)))
                            return err_sys(e, ENOMEM, "%s", name);
                        memcpy(*out, json, n);
                        json = *out; /* scanning on in the copy: the rest is the same */
                    }
                    char *w = *out + i;
                    size_t k = j - i - 8; /* digits in the string: 11 or 12 */
                    memcpy(w, "\"\\u0000", 7);
                    for (size_t d = 0; d < k; d++)
                        w[7 + k - 1 - d] = d < 11 ? b64[(v >> (6 * d)) & 63] : '0';
                    w[7 + k] = '"';
                }
            }
            i = j - 1;
        }
    }
    return 0;
}

/* Where unmark() is in the profile: only syscalls[].args[].value/valueTwo keep their
 * marks. */
enum { AT_ANY, AT_ROOT, AT_RULES, AT_RULE, AT_ARGS, AT_ARG };

/* Marked strings back to numbers in j and below, but where parse_u64 reads them. */
static void unmark(json_t *j, int at)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *x = json_array_get(j, i);
            if (is_marked(x))
                json_array_set_new(j, i, json_real((double)marked_value(x)));
            else
                unmark(x, at == AT_RULES ? AT_RULE : at == AT_ARGS ? AT_ARG : AT_ANY);
        }
    } else if (json_is_object(j)) {
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x) {
            int keep = at == AT_ARG && (!strcmp(k, "value") || !strcmp(k, "valueTwo"));
            if (is_marked(x) && !keep) /* replacing a key's value leaves the iteration intact */
                json_object_set_new(j, k, json_real((double)marked_value(x)));
            else
                unmark(x, at == AT_ROOT && !strcmp(k, "syscalls") ? AT_RULES
                          : at == AT_RULE && !strcmp(k, "args")   ? AT_ARGS
                                                                  : AT_ANY);
        }
    }
}

static int parse_u64(const json_t *j, uint64_t *v)
{
    if (!j || json_is_null(j)) {
        *v = 0;
        return 0;
    }
    if (is_marked(j)) {
        *v = marked_value(j);
        return 0;
    }
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return -1;
    *v = (uint64_t)json_integer_value(j);
    return 0;
}

#define MAX_ARGS 6

static int parse_args(const json_t *args, struct scmp_arg_cmp *cmp, unsigned *n, int *same_index,
                      const char *name, size_t ri, struct err *e)
{
    *n = 0;
    *same_index = 0;
    if (!args || json_is_null(args))
        return 0;
    if (!json_is_array(args))
        return err_set(e, "%s: syscalls[%zu].args: expected an array", name, ri);
    size_t i;
    const json_t *a;
    unsigned seen = 0;
    json_array_foreach(args, i, a) {
        if (!json_is_object(a))
            return err_set(e, "%s: syscalls[%zu].args[%zu]: expected an object", name, ri, i);
        if (i >= MAX_ARGS)
            return err_set(e, "%s: syscalls[%zu].args: more than %d conditions", name, ri, MAX_ARGS);
        const json_t *idx = json_object_get(a, "index");
        const json_t *op = json_object_get(a, "op");
        uint64_t v1, v2;
        if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
            return err_set(e, "%s: syscalls[%zu].args[%zu].index: expected 0..5", name, ri, i);
        if (parse_u64(json_object_get(a, "value"), &v1) < 0)
            return err_set(e, "%s: syscalls[%zu].args[%zu].value: expected an unsigned integer",
                           name, ri, i);
        if (parse_u64(json_object_get(a, "valueTwo"), &v2) < 0)
            return err_set(e, "%s: syscalls[%zu].args[%zu].valueTwo: expected an unsigned integer",
                           name, ri, i);
        if (!json_is_string(op) || parse_op(json_string_value(op), &cmp[i].op) < 0)
            return err_set(e, "%s: syscalls[%zu].args[%zu].op: unknown operator %s%s%s", name, ri, i,
                           json_is_string(op) ? "\"" : "",
                           json_is_string(op) ? json_string_value(op) : "(missing)",
                           json_is_string(op) ? "\"" : "");
        cmp[i].arg = (unsigned)json_integer_value(idx);
        cmp[i].datum_a = v1;
        cmp[i].datum_b = v2;
        if (seen & (1u << cmp[i].arg))
            *same_index = 1;
        seen |= 1u << cmp[i].arg;
        (*n)++;
    }
    return 0;
}

/* Is string s in JSON array j (null/absent: no)? Validates the array's elements. */
static int in_list(const json_t *j, const char *s, int *found, const char *name, size_t ri,
                   const char *field, struct err *e)
{
    *found = 0;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_array(j))
        return err_set(e, "%s: syscalls[%zu].%s: expected an array", name, ri, field);
    size_t i;
    const json_t *x;
    json_array_foreach(j, i, x) {
        if (!json_is_string(x))
            return err_set(e, "%s: syscalls[%zu].%s[%zu]: expected a string", name, ri, field, i);
        if (s && !strcmp(json_string_value(x), s))
            *found = 1;
    }
    return 0;
}

/* Does rule ri apply to an unprivileged process on platform p? 1 yes, 0 no, ERR. */
static int rule_applies(const json_t *rule, const struct platform *p, const char *name, size_t ri,
                        struct err *e)
{
    const json_t *inc = json_object_get(rule, "includes");
    const json_t *exc = json_object_get(rule, "excludes");
    int found, applies = 1;
    if (inc && !json_is_null(inc)) {
        if (!json_is_object(inc))
            return err_set(e, "%s: syscalls[%zu].includes: expected an object", name, ri);
        const json_t *arches = json_object_get(inc, "arches");
        if (in_list(arches, p->arch, &found, name, ri, "includes.arches", e) < 0)
            return ERR;
        if (json_array_size(arches) > 0 && !found)
            applies = 0;
        const json_t *caps = json_object_get(inc, "caps");
        if (in_list(caps, NULL, &found, name, ri, "includes.caps", e) < 0)
            return ERR;
        if (json_array_size(caps) > 0) /* no capability is granted */
            applies = 0;
        const json_t *mk = json_object_get(inc, "minKernel");
        if (mk && !json_is_null(mk) && !json_is_string(mk))
            return err_set(e, "%s: syscalls[%zu].includes.minKernel: expected a string", name, ri);
    }
    if (exc && !json_is_null(exc)) {
        if (!json_is_object(exc))
            return err_set(e, "%s: syscalls[%zu].excludes: expected an object", name, ri);
        if (in_list(json_object_get(exc, "arches"), p->arch, &found, name, ri, "excludes.arches", e) < 0)
            return ERR;
        if (found)
            applies = 0;
        if (in_list(json_object_get(exc, "caps"), NULL, &found, name, ri, "excludes.caps", e) < 0)
            return ERR;
    }
    return applies;
}

/* Syscalls Linux added after the syscall tables of the libseccomp releases armlet is
 * built with (2.5.4 knows up to futex_requeue, Linux 6.7, on Debian 12). Docker's current
 * default profile names several; they are real names, not typos. libseccomp cannot
 * give them a number, so they compile to nothing and the ENOSYS prelude answers them
 * (seccomp_enosys.h): the program sees a kernel without them. Add names here as kernels
 * add syscalls, with the release that added them. */
static const char *const newer_syscalls[] = {
    "cachestat",                                               /* 6.5 */
    "fchmodat2", "map_shadow_stack",                           /* 6.6 */
    "futex_wake", "futex_wait", "futex_requeue",               /* 6.7 */
    "statmount", "listmount",                                  /* 6.8 */
    "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
    "mseal",                                                   /* 6.10 */
    "uretprobe",                                               /* 6.11, x86_64 */
    "setxattrat", "getxattrat", "listxattrat", "removexattrat", /* 6.13 */
    "open_tree_attr",                                          /* 6.15 */
    "file_getattr", "file_setattr",                            /* 6.17 */
    "riscv_hwprobe",                                           /* 6.4, riscv64 */
};

/* Is sys a syscall of some architecture (any libseccomp knows, not only the target's:
 * Docker's old-format profile names arm's "send" and "recv" under x86 arches only), or
 * one of the newer ones above? A name that is neither is taken for a typo. */
static int syscall_name_known(const char *sys)
{
    for (size_t i = 0; i < N_ARCH_NAMES; i++)
        if (arch_names[i].arch && seccomp_syscall_resolve_name_arch(arch_names[i].arch, sys) >= 0)
            return 1;
    for (size_t i = 0; i < sizeof newer_syscalls / sizeof newer_syscalls[0]; i++)
        if (!strcmp(newer_syscalls[i], sys))
            return 1;
    return 0;
}

static int check_syscall_name(const char *sys, const char *name, const char *field, struct err *e)
{
    if (syscall_name_known(sys))
        return 0;
    const struct scmp_version *v = seccomp_version();
    return err_set(e, "%s: %s: unknown syscall \"%s\" (not a syscall of any architecture "
                      "libseccomp %u.%u.%u knows, nor a newer one armlet lists)",
                   name, field, sys, v->major, v->minor, v->micro);
}

/* Add one syscall by name to the single-arch context c (arch a), with conditions. */
static int add_syscall(scmp_filter_ctx c, uint32_t a, uint32_t act, const char *sys,
                       const struct scmp_arg_cmp *cmp, unsigned n, int split, const char *name,
                       size_t ri, struct err *e)
{
    if (seccomp_syscall_resolve_name_arch(a, sys) < 0)
        return 0; /* not a syscall of this arch: skipped, as runc does */
    /* Number in libseccomp's host numbering (a pseudo number when the host lacks it);
     * libseccomp translates it by name into the context's arch. */
    int nr = seccomp_syscall_resolve_name(sys);
    int rc = 0;
    if (!split) {
        rc = seccomp_rule_add_array(c, act, nr, n, cmp);
    } else {
        for (unsigned i = 0; i < n && rc == 0; i++)
            rc = seccomp_rule_add_array(c, act, nr, 1, &cmp[i]);
    }
    if (rc < 0)
        return err_sys(e, -rc, "%s: syscalls[%zu]: libseccomp refused the rule for \"%s\"", name,
                       ri, sys);
    return 0;
}

static int add_rule(scmp_filter_ctx *ctx, const struct arch_set *as, uint32_t def_act,
                    const json_t *rule, const struct platform *p, const char *name, size_t ri,
                    struct err *e)
{
    char field[64];
    if (!json_is_object(rule))
        return err_set(e, "%s: syscalls[%zu]: expected an object", name, ri);
    const json_t *names = json_object_get(rule, "names");
    const json_t *one = json_object_get(rule, "name");
    if (names && !json_is_null(names)) {
        int dummy;
        if (in_list(names, NULL, &dummy, name, ri, "names", e) < 0)
            return ERR;
    }
    if (one && !json_is_null(one) && !json_is_string(one))
        return err_set(e, "%s: syscalls[%zu].name: expected a string", name, ri);
    if (json_array_size(names) == 0 && !json_is_string(one))
        return err_set(e, "%s: syscalls[%zu]: no \"names\" (or \"name\")", name, ri);
    /* a typo is an error even in a rule that does not apply to this target */
    snprintf(field, sizeof field, "syscalls[%zu].name", ri);
    if (json_is_string(one) && check_syscall_name(json_string_value(one), name, field, e) < 0)
        return ERR;
    size_t ni;
    const json_t *nj;
    json_array_foreach(names, ni, nj) {
        snprintf(field, sizeof field, "syscalls[%zu].names[%zu]", ri, ni);
        if (check_syscall_name(json_string_value(nj), name, field, e) < 0)
            return ERR;
    }
    long long eret;
    uint32_t act;
    snprintf(field, sizeof field, "syscalls[%zu].", ri);
    if (parse_errno(rule, "errnoRet", &eret, name, field, e) < 0)
        return ERR;
    snprintf(field, sizeof field, "syscalls[%zu].action", ri);
    if (parse_action(json_object_get(rule, "action"), eret, &act, name, field, e) < 0)
        return ERR;
    struct scmp_arg_cmp cmp[MAX_ARGS];
    unsigned n;
    int split;
    if (parse_args(json_object_get(rule, "args"), cmp, &n, &split, name, ri, e) < 0)
        return ERR;
    int applies = rule_applies(rule, p, name, ri, e);
    if (applies <= 0 || act == def_act) /* the default already does it; libseccomp refuses */
        return applies < 0 ? ERR : 0;
    for (int k = 0; k < as->n; k++) {
        if (json_is_string(one) &&
            add_syscall(ctx[k], as->arch[k], act, json_string_value(one), cmp, n, split, name, ri, e) < 0)
            return ERR;
        size_t i;
        const json_t *s;
        json_array_foreach(names, i, s) {
            if (add_syscall(ctx[k], as->arch[k], act, json_string_value(s), cmp, n, split, name, ri, e) < 0)
                return ERR;
        }
    }
    return 0;
}

/* Export the filter of c into a malloc'd buffer (libseccomp 2.5 writes only to an fd). */
static int export_mem(scmp_filter_ctx c, unsigned char **bpf, size_t *len, const char *name,
                      struct err *e)
{
    cleanup_close int fd = memfd_create("armlet-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return err_sys(e, errno, "%s: memfd_create", name);
    int rc = seccomp_export_bpf(c, fd);
    if (rc < 0)
        return err_sys(e, -rc, "%s: seccomp_export_bpf", name);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % ARMLET_BPF_INSN_SIZE != 0)
        return err_set(e, "%s: libseccomp exported %lld bytes, not whole instructions", name,
                       (long long)size);
    if (size / ARMLET_BPF_INSN_SIZE > ARMLET_BPF_MAX_INSNS)
        return err_set(e, "%s: filter has %lld instructions, more than the kernel's %d", name,
                       (long long)(size / ARMLET_BPF_INSN_SIZE), ARMLET_BPF_MAX_INSNS);
    cleanup_free unsigned char *buf = malloc((size_t)size);
    if (!buf)
        return err_sys(e, ENOMEM, "%s", name);
    if (pread(fd, buf, (size_t)size, 0) != size)
        return err_sys(e, errno, "%s: reading the exported filter", name);
    *bpf = steal_pointer(&buf);
    *len = (size_t)size;
    return 0;
}

/* Replace libseccomp's program by the compact equivalent (seccomp_compact.h). Should its
 * self-check ever fail, the build goes on with libseccomp's program and says so (a
 * warning collected in e): a slower start is better than a failed build. */
static void compact(unsigned char **bpf, size_t *len, const char *name, struct err *e)
{
    unsigned char *small = NULL;
    size_t n = 0;
    struct err ce;
    int r = seccomp_compact(*bpf, *len, &small, &n, &ce);
    if (r < 0)
        err_warn(e, "%s: %s; using libseccomp's filter as is", name, ce.msg);
    if (r == 1) {
        free(*bpf);
        *bpf = small;
        *len = n;
    }
}

int seccomp_compile_json(const char *json, size_t n, const char *name, const struct platform *p,
                         unsigned flags, unsigned char **bpf, size_t *len, struct err *e)
{
    *bpf = NULL;
    *len = 0;
    json_error_t je;
    cleanup_free char *marked = NULL;
    if (mark_big_integers(json, n, &marked, name, e) < 0)
        return ERR;
    cleanup_json json_t *root = json_loadb(marked ? marked : json, n, marked ? JSON_ALLOW_NUL : 0, &je);
    if (!root)
        return err_set(e, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
    if (marked)
        unmark(root, AT_ROOT);
    if (!json_is_object(root))
        return err_set(e, "%s: expected a JSON object at the top", name);
    long long def_eret;
    uint32_t def_act;
    if (parse_errno(root, "defaultErrnoRet", &def_eret, name, "", e) < 0)
        return ERR;
    const json_t *da = json_object_get(root, "defaultAction");
    if (!da)
        return err_set(e, "%s: defaultAction: missing", name);
    if (parse_action(da, def_eret, &def_act, name, "defaultAction", e) < 0)
        return ERR;
    struct arch_set as;
    if (resolve_arches(root, p, flags, &as, name, e) < 0)
        return ERR;
    const json_t *rules = json_object_get(root, "syscalls");
    if (rules && !json_is_null(rules) && !json_is_array(rules))
        return err_set(e, "%s: syscalls: expected an array", name);

    /* One context per arch, so each name is resolved (or skipped) on its own arch. */
    scmp_filter_ctx ctx[MAX_ARCHES] = {NULL};
    int rc = 0;
    for (int k = 0; k < as.n && rc == 0; k++) {
        ctx[k] = seccomp_init(def_act);
        if (!ctx[k]) {
            rc = err_set(e, "%s: seccomp_init failed", name);
            break;
        }
        uint32_t native = seccomp_arch_native();
        int r = 0;
        if (as.arch[k] != native) {
            r = seccomp_arch_add(ctx[k], as.arch[k]);
            if (r == 0)
                r = seccomp_arch_remove(ctx[k], native);
        }
        if (r == 0)
            r = seccomp_attr_set(ctx[k], SCMP_FLTATR_CTL_OPTIMIZE,
                                 (flags & SECCOMP_COMPILE_NO_OPTIMIZE) ? 1 : 2);
        if (r < 0)
            rc = err_sys(e, -r, "%s: libseccomp setup for %s", name, p->oci);
    }
    size_t i;
    const json_t *rule;
    if (rc == 0)
        json_array_foreach(rules, i, rule) {
            if ((rc = add_rule(ctx, &as, def_act, rule, p, name, i, e)) < 0)
                break;
        }
    for (int k = 1; k < as.n && rc == 0; k++) {
        int r = seccomp_merge(ctx[0], ctx[k]);
        if (r < 0)
            rc = err_sys(e, -r, "%s: merging the filters of %s", name, p->oci);
        else
            ctx[k] = NULL; /* merge consumed it */
    }
    if (rc == 0)
        rc = export_mem(ctx[0], bpf, len, name, e);
    if (rc == 0 && !(flags & SECCOMP_COMPILE_NO_ENOSYS) && seccomp_enosys_wanted(def_act))
        rc = seccomp_enosys_prepend(as.arch, as.n, bpf, len, name, e);
    if (rc < 0) {
        free(*bpf);
        *bpf = NULL;
        *len = 0;
    }
    if (rc == 0 && !(flags & (SECCOMP_COMPILE_NO_COMPACT | SECCOMP_COMPILE_NO_OPTIMIZE)))
        compact(bpf, len, name, e);
    for (int k = 0; k < as.n; k++)
        if (ctx[k])
            seccomp_release(ctx[k]);
    return rc;
}

static int read_file(const char *path, char **data, size_t *n, struct err *e)
{
    cleanup_file FILE *f = fopen(path, "re");
    if (!f)
        return err_sys(e, errno, "%s", path);
    size_t cap = 0, len = 0;
    cleanup_free char *buf = NULL;
    for (;;) {
        if (len == cap) {
            if (cap > (64u << 20))
                return err_set(e, "%s: larger than 64 MiB, not a seccomp profile", path);
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb)
                return err_sys(e, ENOMEM, "%s", path);
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f))
                return err_sys(e, errno ? errno : EIO, "%s", path);
            break;
        }
    }
    *data = steal_pointer(&buf);
    *n = len;
    return 0;
}

int seccomp_compile_mem(const char *profile, const struct platform *p, unsigned flags,
                        unsigned char **bpf, size_t *len, struct err *e)
{
    *bpf = NULL;
    *len = 0;
    if (!strcmp(profile, "default"))
        return seccomp_compile_json(seccomp_default_json, seccomp_default_json_len, "default", p,
                                    flags, bpf, len, e);
    cleanup_free char *data = NULL;
    size_t n = 0;
    if (read_file(profile, &data, &n, e) < 0)
        return ERR;
    return seccomp_compile_json(data, n, profile, p, flags, bpf, len, e);
}

int seccomp_compile_to_file(const char *profile, const struct platform *p, const char *out_path,
                            struct err *e)
{
    cleanup_free unsigned char *bpf = NULL;
    size_t len;
    if (seccomp_compile_mem(profile, p, 0, &bpf, &len, e) < 0)
        return ERR;
    return seccomp_write_bpf(out_path, bpf, len, e);
}

int seccomp_write_bpf(const char *out_path, const unsigned char *bpf, size_t len, struct err *e)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", out_path) >= sizeof tmp)
        return err_set(e, "%s: path too long", out_path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return err_sys(e, errno, "%s", out_path);
    int rc = 0;
    errno = 0;
    if (write(fd, bpf, len) != (ssize_t)len)
        rc = err_sys(e, errno ? errno : ENOSPC, "%s: writing", out_path);
    else if (fchmod(fd, 0644) < 0)
        rc = err_sys(e, errno, "%s", out_path);
    if (close(fd) < 0 && rc == 0)
        rc = err_sys(e, errno, "%s: writing", out_path);
    if (rc == 0 && rename(tmp, out_path) < 0)
        rc = err_sys(e, errno, "%s", out_path);
    if (rc < 0)
        unlink(tmp);
    return rc;
}
