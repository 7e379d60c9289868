/* tests/unit/test_url.c — url.h (resolving and checking the URLs a registry hands out)
 * and safetext.h (server text made safe to print or to send). */
#include <string.h>

#include "util/safetext.h"
#include "unit.h"
#include "registry/url.h"

#define BASE "http://127.0.0.1:5000/v2/app/blobs/uploads/?x=1"

/* resolve ref against BASE; "" when refused */
static const char *res(const char *base, const char *ref, struct err *e)
{
    static char out[4096];
    err_clear(e);
    if (url_resolve(base, ref, "upload Location", out, sizeof out, e) < 0)
        return "";
    return out;
}

static void test_relative_locations_resolve_per_rfc3986(void)
{
    struct err e;
    CHECK_STR(res(BASE, "/v2/app/blobs/uploads/abc?_state=z", &e), "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=z");
    CHECK_STR(res(BASE, "abc", &e), "http://127.0.0.1:5000/v2/app/blobs/uploads/abc");
    CHECK_STR(res(BASE, "../x", &e), "http://127.0.0.1:5000/v2/app/blobs/x");
    CHECK_STR(res(BASE, "//storage.example.com/up?s=1", &e), "http://storage.example.com/up?s=1");
    CHECK_STR(res(BASE, "https://s3.example.com/b/k?sig=a%2Fb", &e), "https://s3.example.com/b/k?sig=a%2Fb");
    CHECK_STR(res(BASE, "HTTP://Example.com:8080/p", &e), "http://Example.com:8080/p");
    CHECK_STR(res(NULL, "https://auth.docker.io/token", &e), "https://auth.docker.io/token");
}

static void test_other_schemes_and_bad_urls_are_refused_by_name(void)
{
    static const char *schemes[] = {"file", "gopher", "dict", "ftp", "ftps", "ldap", "ldaps", "smb", "smbs",
                                    "telnet", "tftp", "scp", "sftp", "imap", "imaps", "pop3", "pop3s", "smtp",
                                    "smtps", "rtsp", "rtmp", "mqtt", "ws", "wss", "gophers", "javascript", "data"};
    struct err e;
    char ref[128];
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        snprintf(ref, sizeof ref, "%s://127.0.0.1:9/x", schemes[i]);
        CHECK_STR(res(BASE, ref, &e), "");
        CHECK(strstr(e.msg, "upload Location") && strstr(e.msg, ref) && strstr(e.msg, "is not http or https"));
        CHECK_STR(res(NULL, ref, &e), "");
    }
    CHECK_STR(res(BASE, "file:///etc/passwd", &e), "");
    CHECK_STR(res(BASE, "mailto:a@b", &e), "");
    CHECK(strstr(e.msg, "\"mailto:a@b\" is not http or https") != NULL);
    CHECK_STR(res(NULL, "/token", &e), "");
    CHECK(strstr(e.msg, "not an absolute http or https URL") != NULL);
    CHECK_STR(res(BASE, "http://u:p@evil.example.com/", &e), "");
    CHECK(strstr(e.msg, "user name or password") != NULL);
    CHECK_STR(res(BASE, "http://127.0.0.1/\r\nX-Evil: 1", &e), "");
    CHECK(strstr(e.msg, "\\x0d\\x0a") != NULL && !strchr(e.msg, '\r'));
    CHECK_STR(res(BASE, "http://127.0.0.1/\x1b[2J", &e), "");
    CHECK(strstr(e.msg, "\\x1b[2J") != NULL && !strchr(e.msg, '\x1b'));
    CHECK_STR(res(BASE, "", &e), "");
    CHECK_STR(res(BASE, "http://", &e), "");
    CHECK_STR(res(BASE, "http://:80/x", &e), "");
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "http://h/", 9);
    CHECK_STR(res(BASE, big, &e), "");
    CHECK(strstr(e.msg, "longer than") != NULL);
}

static void test_origins_compare_scheme_host_and_port(void)
{
    CHECK(url_same_origin("http://127.0.0.1:5000/v2/", "http://127.0.0.1:5000"));
    CHECK(url_same_origin("https://Reg.Example.com/v2/", "https://reg.example.com:443"));
    CHECK(!url_same_origin("http://127.0.0.1:5000/", "http://127.0.0.2:5000"));
    CHECK(!url_same_origin("http://127.0.0.1:5000/", "https://127.0.0.1:5000"));
    CHECK(!url_same_origin("http://127.0.0.1:5000/", "http://127.0.0.1:5001"));
    CHECK(!url_same_origin("http://127.0.0.1:5000@evil.example.com/", "http://127.0.0.1:5000"));
    CHECK(!url_same_origin("file:///x", "file:///x"));
    CHECK(url_same_host("http://127.0.0.1:5001/token", "https://127.0.0.1:5000"));
    CHECK(!url_same_host("http://127.0.0.10/", "http://127.0.0.1/"));
    struct url_origin o;
    CHECK(url_origin("http://[::1]:5000/v2/", &o) == 0 && !strcmp(o.host, "[::1]") && o.port == 5000 && !o.https);
    CHECK(url_origin("https://x.example.com/", &o) == 0 && o.port == 443 && o.https);
    CHECK(url_origin("gopher://x/", &o) < 0);
}

static void test_escape_makes_server_text_inert(void)
{
    char buf[64];
    CHECK_STR(safetext_escape("plain text: ok", buf, sizeof buf), "plain text: ok");
    CHECK_STR(safetext_escape("\x1b]0;pwn\x07\r\nforged\\", buf, sizeof buf), "\\x1b]0;pwn\\x07\\x0d\\x0aforged\\\\");
    CHECK_STR(safetext_escape("caf\xc3\xa9 \x9b", buf, sizeof buf), "caf\\xc3\\xa9 \\x9b");
    CHECK_STR(safetext_escape(NULL, buf, sizeof buf), "");
    char small[12];
    CHECK_STR(safetext_escape("0123456789abcdef", small, sizeof small), "01234567...");
    CHECK_STR(safetext_escape("0123456\x1b", small, sizeof small), "0123456\\x1b");
    CHECK_STR(safetext_escape("01234567\x1b", small, sizeof small), "01234567...");
    CHECK_STR(safetext_escape("01234567890", small, sizeof small), "01234567890");
    for (int c = 1; c < 256; c++) {
        char in[2] = {(char)c, 0};
        safetext_escape(in, buf, sizeof buf);
        for (const char *p = buf; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
    }
}

static void test_tokens_must_be_printable_ascii(void)
{
    CHECK(safetext_is_token("eyJhbGciOi.eyJzdWIi.c2ln-_~+/=", 29));
    CHECK(!safetext_is_token("abc\r\nX-Injected: 1", 18));
    CHECK(!safetext_is_token("abc\n", 4));
    CHECK(!safetext_is_token("a b", 3));
    CHECK(!safetext_is_token("a\x1b", 2));
    CHECK(!safetext_is_token("a\0b", 3));
    CHECK(!safetext_is_token("", 0));
    CHECK(!safetext_is_token("caf\xc3\xa9", 5));
}

int main(void)
{
    RUN(test_relative_locations_resolve_per_rfc3986);
    RUN(test_other_schemes_and_bad_urls_are_refused_by_name);
    RUN(test_origins_compare_scheme_host_and_port);
    RUN(test_escape_makes_server_text_inert);
    RUN(test_tokens_must_be_printable_ascii);
    return unit_done();
}
