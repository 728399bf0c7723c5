/* SPDX-License-Identifier: MIT */
/* Fills a built-in HTML template with a title and a JSON document. */
#include <string.h>

#include <jansson.h>

#include "report/report.h"
#include "report/report_int.h"

/* Placeholders in the templates (web/report/); see docs/report.md. */
#define TITLE_MARK "@GL_TITLE@"
#define DATA_MARK  "@GL_DATA@"

#define DEFAULT_TITLE "gridledger report"

/* Indexed by enum rp_kind. */
static const char *const kind_names[] = {
    [RP_MARKET_DAY] = "market",
    [RP_PETRA] = "petra",
};

const char *rp_kind_name(enum rp_kind kind)
{
    if ((unsigned)kind >= BASE_ARRAY_LEN(kind_names)) {
        return NULL;
    }
    return kind_names[kind];
}

int rp_kind_parse(const char *name, enum rp_kind *out)
{
    for (size_t i = 0; name != NULL && i < BASE_ARRAY_LEN(kind_names); i++) {
        if (strcmp(kind_names[i], name) == 0) {
            *out = (enum rp_kind)i;
            return 0;
        }
    }
    return BASE_ENOTFOUND;
}

static const struct rp__template *find_template(enum rp_kind kind)
{
    const char *name = rp_kind_name(kind);
    for (size_t i = 0; name != NULL && i < rp__ntemplates; i++) {
        if (strcmp(rp__templates[i].name, name) == 0) {
            return &rp__templates[i];
        }
    }
    return NULL;
}

/* Title text in HTML, where it appears both in <title> and in <h1>. */
static int add_html_text(struct base_buf *b, const char *s)
{
    int rv = 0;
    for (; *s != '\0' && rv == 0; s++) {
        switch (*s) {
        case '&':
            rv = base_buf_add_str(b, "&amp;");
            break;
        case '<':
            rv = base_buf_add_str(b, "&lt;");
            break;
        case '>':
            rv = base_buf_add_str(b, "&gt;");
            break;
        case '"':
            rv = base_buf_add_str(b, "&quot;");
            break;
        case '\'':
            rv = base_buf_add_str(b, "&#39;");
            break;
        default:
            rv = base_buf_add_u8(b, (uint8_t)*s);
            break;
        }
    }
    return rv;
}

/*
 * The JSON inside <script type="application/json">. The HTML parser ends
 * that element at the first "</script" and changes state at "<!--", so no
 * '<' may reach the page as is. The document has been parsed, so every '<'
 * is inside a string, where \u003c means the same character to JSON.parse.
 */
static int add_script_json(struct base_buf *b, const char *json, size_t len)
{
    size_t start = 0;
    int rv = 0;
    for (size_t i = 0; i < len && rv == 0; i++) {
        if (json[i] == '<') {
            rv = base_buf_add(b, json + start, i - start);
            if (rv == 0) {
                rv = base_buf_add_str(b, "\\u003c");
            }
            start = i + 1;
        }
    }
    if (rv == 0) {
        rv = base_buf_add(b, json + start, len - start);
    }
    return rv;
}

/* Offset of the next placeholder at or after @from, or @len. */
static size_t next_mark(const unsigned char *p, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        if (p[i] == '@' && i + 1 < len && p[i + 1] == 'G') {
            return i;
        }
    }
    return len;
}

static bool mark_at(const unsigned char *p, size_t len, size_t off,
                    const char *mark)
{
    size_t n = strlen(mark);
    return len - off >= n && memcmp(p + off, mark, n) == 0;
}

static int fill_template(struct base_buf *b, const struct rp__template *t,
                         const char *title, const char *json, size_t len)
{
    size_t off = 0;
    int rv = 0;
    while (off < t->len && rv == 0) {
        size_t at = next_mark(t->data, t->len, off);
        rv = base_buf_add(b, t->data + off, at - off);
        off = at;
        if (rv != 0 || off == t->len) {
            break;
        }
        if (mark_at(t->data, t->len, off, TITLE_MARK)) {
            rv = add_html_text(b, title);
            off += strlen(TITLE_MARK);
        } else if (mark_at(t->data, t->len, off, DATA_MARK)) {
            rv = add_script_json(b, json, len);
            off += strlen(DATA_MARK);
        } else {
            rv = base_buf_add_u8(b, t->data[off]);
            off++;
        }
    }
    if (rv == 0) {
        rv = base_buf_terminate(b);
    }
    return rv;
}

int rp_render_html(enum rp_kind kind, const char *title, const char *json,
                   size_t len, char **out, size_t *outlen, char *errmsg)
{
    if (json == NULL || out == NULL || outlen == NULL) {
        return base_errf(errmsg, BASE_EINVAL, "report: no data");
    }
    const struct rp__template *t = find_template(kind);
    if (t == NULL) {
        return base_errf(errmsg, BASE_EINVAL, "report: unknown kind %d",
                         (int)kind);
    }
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, 0, &jerr);
    if (doc == NULL) {
        return base_errf(errmsg, BASE_EPARSE,
                         "report data: line %d column %d: %s", jerr.line,
                         jerr.column, jerr.text);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return base_errf(errmsg, BASE_EPARSE, "report data: not a JSON object");
    }
    if (title == NULL) {
        /* Borrowed from doc, which lives until the page is filled. */
        title = json_string_value(json_object_get(doc, "title"));
    }
    if (title == NULL) {
        title = DEFAULT_TITLE;
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = fill_template(&b, t, title, json, len);
    json_decref(doc);
    if (rv != 0) {
        base_buf_release(&b);
        return base_errf(errmsg, rv, "report: %s", base_strerror(rv));
    }
    *outlen = b.len;
    *out = (char *)base_buf_take(&b, NULL);
    return 0;
}

int rp_write_html(const char *path, enum rp_kind kind, const char *title,
                  const char *json, size_t len, char *errmsg)
{
    if (path == NULL) {
        return base_errf(errmsg, BASE_EINVAL, "report: no path");
    }
    char *html;
    size_t n;
    int rv = rp_render_html(kind, title, json, len, &html, &n, errmsg);
    if (rv != 0) {
        return rv;
    }
    rv = base_write_file(path, html, n);
    base_free(html);
    if (rv != 0) {
        return base_errf(errmsg, rv, "cannot write %s: %s", path,
                         base_strerror(rv));
    }
    return 0;
}
