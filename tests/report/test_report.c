/* SPDX-License-Identifier: MIT */
/* Tests of report: the page holds the data and the library, the data cannot
 * break out of its script element, and bad input gets a clear error. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "report/report.h"
#include "testlib.h"

struct fx {
    char dir[PATH_MAX];
    char path[PATH_MAX];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tl_tmpdir(f->dir, "report");
    snprintf(f->path, sizeof f->path, "%s/report.html", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tl_rmrf(f->dir);
    free(f);
    return 0;
}

/* Not inlined: GCC 12 then mistakes the result for a pointer to its local
 * (-Wdangling-pointer). */
__attribute__((noinline)) static char *slurp(const char *path, size_t *len)
{
    char *s;
    assert_int_equal(base_read_file(path, 64u << 20, &s, len), 0);
    return s;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    size_t off = 0;
    const char *p;
    while ((p = strstr(hay + off, needle)) != NULL) {
        n++;
        off = (size_t)(p - hay) + 1;
    }
    return n;
}

/* The text of <script id="gl-data" ...>...</script>, copied. */
static char *data_script(const char *html)
{
    const char *open = strstr(html, "<script id=\"gl-data\"");
    assert_non_null(open);
    open = strchr(open, '>');
    assert_non_null(open);
    open++;
    const char *close = strstr(open, "</script>");
    assert_non_null(close);
    return strndup(open, (size_t)(close - open));
}

static void test_kinds(void **state)
{
    (void)state;
    enum rp_kind k = (enum rp_kind)99;
    assert_int_equal(rp_kind_parse("market", &k), 0);
    assert_int_equal(k, RP_MARKET_DAY);
    assert_string_equal(rp_kind_name(RP_MARKET_DAY), "market");
    assert_int_equal(rp_kind_parse("petra-nope", &k), BASE_ENOTFOUND);
    assert_int_equal(k, RP_MARKET_DAY);
    assert_null(rp_kind_name((enum rp_kind)42));
}

static void test_sample(void **state)
{
    struct fx *f = *state;
    char src[PATH_MAX];
    tl_source_path(src, "tests/report/data/market-small.json");
    size_t jlen;
    char *json = slurp(src, &jlen);
    char errmsg[BASE_ERRMSG_SIZE] = "";
    assert_int_equal(
        rp_write_html(f->path, RP_MARKET_DAY, NULL, json, jlen, errmsg), 0);

    size_t len;
    char *html = slurp(f->path, &len);
    /* One file with the library, the page's code and the data inline. */
    assert_true(len > 150000);
    assert_non_null(strstr(html, "Chart.js v4"));
    assert_non_null(strstr(html, "window.glReport"));
    assert_null(strstr(html, "<!--@inline-js"));
    assert_null(strstr(html, "@GL_"));
    assert_null(strstr(html, "sourceMappingURL"));
    /* Nothing to fetch: no src= or href= to anything outside the file. */
    assert_null(strstr(html, "src=\"http"));
    assert_null(strstr(html, "href=\"http"));
    /* The title comes from the data, in <title> and <h1>. */
    assert_non_null(strstr(html, "<title>Small market day</title>"));
    assert_non_null(strstr(html, "<h1>Small market day</h1>"));
    /* The data is embedded unchanged (it holds no '<'). */
    char *data = data_script(html);
    assert_int_equal(strlen(data), jlen);
    assert_memory_equal(data, json, jlen);
    free(data);

    /* Writing again replaces the file, with the caller's title. */
    assert_int_equal(
        rp_write_html(f->path, RP_MARKET_DAY, "Run 7 & <co>", json, jlen, NULL),
        0);
    base_free(html);
    html = slurp(f->path, &len);
    assert_non_null(strstr(html, "<title>Run 7 &amp; &lt;co&gt;</title>"));
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    assert_int_equal(access(tmp, F_OK), -1);
    base_free(html);
    base_free(json);
}

static void test_script_breakout(void **state)
{
    struct fx *f = *state;
    const char *json = "{\"title\":\"</script><script>alert(1)</script>\","
                       "\"scenario\":\"<!-- a </SCRIPT> b\","
                       "\"summary\":{\"dso_method\":\"x<y\"}}";
    assert_int_equal(
        rp_write_html(f->path, RP_MARKET_DAY, NULL, json, strlen(json), NULL),
        0);
    size_t len;
    char *html = slurp(f->path, &len);
    char *data = data_script(html);
    /* No '<' is left in the data, so the element cannot end early. */
    assert_null(strchr(data, '<'));
    assert_non_null(strstr(data, "\\u003c/script>\\u003cscript>alert(1)"));
    assert_non_null(strstr(data, "\\u003c!-- a \\u003c/SCRIPT> b"));
    assert_non_null(strstr(data, "x\\u003cy"));
    /* The JSON still means the same thing. */
    json_t *a = json_loads(json, 0, NULL);
    json_t *b = json_loads(data, 0, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    /* The page's own script elements are all there is. */
    assert_int_equal(count(html, "</script>"), 3);
    /* In the data, <title> and <h1>, each escaped. */
    assert_int_equal(count(html, "alert(1)"), 3);
    assert_non_null(strstr(
        html, "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    free(data);
    base_free(html);
}

static void test_render_memory(void **state)
{
    (void)state;
    char *html = (char *)"untouched";
    size_t len = 7;
    assert_int_equal(
        rp_render_html(RP_MARKET_DAY, NULL, "{}", 2, &html, &len, NULL), 0);
    assert_int_equal(strlen(html), len);
    assert_non_null(strstr(html, "<title>gridledger report</title>"));
    assert_non_null(strstr(html, ">{}</script>"));
    base_free(html);
}

static void test_bad_input(void **state)
{
    struct fx *f = *state;
    char errmsg[BASE_ERRMSG_SIZE];
    const char *bad[] = {
        "", "[1,2]", "{\"a\":", "{\"a\":1} x", "{\"a\":\"\xff\"}", "\"str\""};
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad); i++) {
        errmsg[0] = '\0';
        assert_int_equal(rp_write_html(f->path, RP_MARKET_DAY, NULL, bad[i],
                                       strlen(bad[i]), errmsg),
                         BASE_EPARSE);
        assert_non_null(strstr(errmsg, "report data"));
        assert_int_equal(access(f->path, F_OK), -1);
    }
    /* A NUL inside the given length is not JSON either. */
    assert_int_equal(
        rp_write_html(f->path, RP_MARKET_DAY, NULL, "{}\0", 3, errmsg),
        BASE_EPARSE);
    assert_int_equal(rp_write_html(NULL, RP_MARKET_DAY, NULL, "{}", 2, NULL),
                     BASE_EINVAL);
    assert_int_equal(
        rp_write_html(f->path, RP_MARKET_DAY, NULL, NULL, 0, errmsg),
        BASE_EINVAL);
    assert_int_equal(
        rp_write_html(f->path, (enum rp_kind)7, NULL, "{}", 2, errmsg),
        BASE_EINVAL);
    assert_non_null(strstr(errmsg, "unknown kind"));
    assert_int_equal(access(f->path, F_OK), -1);
}

static void test_unwritable(void **state)
{
    struct fx *f = *state;
    char errmsg[BASE_ERRMSG_SIZE];
    char path[PATH_MAX + 16];
    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/missing/report.html", f->dir);
    assert_int_equal(rp_write_html(path, RP_MARKET_DAY, NULL, "{}", 2, errmsg),
                     BASE_EIO);
    assert_non_null(strstr(errmsg, "cannot write"));
    assert_non_null(strstr(errmsg, "missing/report.html"));
    /* A path that is a directory: the old contents stay. */
    assert_int_equal(
        rp_write_html(f->dir, RP_MARKET_DAY, NULL, "{}", 2, errmsg), BASE_EIO);
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* A read-only directory (root ignores permissions: skip that case). */
    if (geteuid() != 0) {
        char ro[PATH_MAX];
        snprintf(ro, sizeof ro, "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        snprintf(path, sizeof path, "%s/report.html", ro);
        assert_int_equal(
            rp_write_html(path, RP_MARKET_DAY, NULL, "{}", 2, errmsg),
            BASE_EIO);
        chmod(ro, 0700);
    }
    /* An existing report survives a failed rewrite. */
    assert_int_equal(
        rp_write_html(f->path, RP_MARKET_DAY, "first", "{}", 2, NULL), 0);
    assert_int_equal(rp_write_html(f->path, RP_MARKET_DAY, NULL, "{", 1, NULL),
                     BASE_EPARSE);
    size_t len;
    char *html = slurp(f->path, &len);
    assert_non_null(strstr(html, "<title>first</title>"));
    base_free(html);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* Fail each of our allocations in turn: an error, never a crash or a
     * half-built page. */
    int ok = 0;
    for (int k = 0; k < 40 && !ok; k++) {
        char *html = NULL;
        size_t len = 0;
        base_alloc_fault(k, 1);
        int rv = rp_render_html(RP_MARKET_DAY, "t", "{\"a\":\"<\"}", 9, &html,
                                &len, NULL);
        base_alloc_fault(-1, 0);
        if (rv == 0) {
            ok = 1;
            assert_non_null(strstr(html, "\\u003c"));
            base_free(html);
        } else {
            assert_int_equal(rv, BASE_ENOMEM);
            assert_null(html);
        }
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test_setup_teardown(test_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_breakout, setup, teardown),
        cmocka_unit_test(test_render_memory),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
