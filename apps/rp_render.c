/* SPDX-License-Identifier: MIT */
/* rp-render: write an HTML report from a JSON file (development and tests). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "report/report.h"

/* Report data is a day of per-minute series: tens of megabytes at most. */
#define MAX_JSON (256u << 20)

int main(int argc, char **argv)
{
    if (argc != 4 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: rp-render KIND DATA.json OUT.html\n\n"
              "Writes the self-contained HTML report of KIND (market, petra) "
              "drawing\n"
              "DATA.json (format: docs/report.md).\n",
              argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 2;
    }
    enum rp_kind kind;
    if (rp_kind_parse(argv[1], &kind) != 0) {
        fprintf(stderr, "rp-render: unknown report kind '%s'\n", argv[1]);
        return 2;
    }
    char *json;
    size_t len;
    int rv = base_read_file(argv[2], MAX_JSON, &json, &len);
    if (rv != 0) {
        fprintf(stderr, "rp-render: %s: %s\n", argv[2], base_strerror(rv));
        return 1;
    }
    char errmsg[BASE_ERRMSG_SIZE];
    rv = rp_write_html(argv[3], kind, NULL, json, len, errmsg);
    base_free(json);
    if (rv != 0) {
        fprintf(stderr, "rp-render: %s\n", errmsg);
        return 1;
    }
    return 0;
}
