/* SPDX-License-Identifier: MIT */
/* Private to dash: the pages web/tools/embed.mjs builds in. */
#ifndef GL_DASH_INT_H
#define GL_DASH_INT_H

#include <stddef.h>

/* One web/dashboard/<name>.html with its libraries and parts inlined;
 * static storage. */
struct dash__template {
    const char *name;
    const unsigned char *data;
    size_t len;
};

/* Defined in the generated pages.c. */
extern const struct dash__template dash__templates[];
extern const size_t dash__ntemplates;

#endif
