/* SPDX-License-Identifier: MIT */
/* Private to report: the templates web/tools/embed.mjs builds in. */
#ifndef GL_REPORT_INT_H
#define GL_REPORT_INT_H

#include <stddef.h>

/* One web/report/<name>.html with its libraries inlined; static storage. */
struct rp__template {
    const char *name;
    const unsigned char *data;
    size_t len;
};

/* Defined in the generated templates.c, in the order of the command line. */
extern const struct rp__template rp__templates[];
extern const size_t rp__ntemplates;

#endif
