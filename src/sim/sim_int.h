/* SPDX-License-Identifier: MIT */
/* Private to sim: helpers the scenario readers and the runs share. */
#ifndef GL_SIM_INT_H
#define GL_SIM_INT_H

#include <jansson.h>

#include "sim.h"

/** Format the reason into @errmsg (BASE_ERRMSG_SIZE) and return EINVAL. */
int sim__bad(char *errmsg, const char *fmt, ...) BASE_PRINTF(2, 3);
/** Optional number @key of @o in [@lo, @hi] into @out (kept when absent);
 *  EINVAL with "@where.@key must be ..." otherwise. */
int sim__num(json_t *o, const char *key, double lo, double hi, double *out,
             const char *where, char *errmsg);
/** Write @o (may be NULL: out of memory) as indented JSON to @dir/@name;
 *  BASE_EIO with the path in @errmsg (if still empty) on failure. */
int sim__write_json(const char *dir, const char *name, json_t *o, char *errmsg);
/** qsort comparison of doubles. */
int sim__cmp_double(const void *a, const void *b);

#endif
