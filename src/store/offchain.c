/* SPDX-License-Identifier: MIT */
/* The off-chain store's spec: which backend, where (kv_offchain_open_uri). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_pg(const char *spec)
{
    return has_prefix(spec, "postgresql://") || has_prefix(spec, "postgres://");
}

int kv_offchain_open_uri(struct kv_offchain **out, const char *spec,
                         const char *base_dir, char *errmsg)
{
    if (spec == NULL || spec[0] == '\0') {
        return base_errf(errmsg, BASE_EINVAL, "empty store spec");
    }
    if (is_pg(spec)) {
        return kv_offchain_open_pg(out, spec, 0, errmsg);
    }
    const char *path = spec;
    const char *scheme_end = strstr(spec, "://");
    if (has_prefix(spec, "sqlite:")) {
        path = spec + strlen("sqlite:");
    } else if (scheme_end != NULL) {
        /* Only the scheme: the rest may hold a password. */
        return base_errf(errmsg, BASE_EINVAL,
                         "unknown store '%.*s://...' (known: "
                         "sqlite:PATH, PATH, postgresql://...)",
                         (int)(scheme_end - spec < 32 ? scheme_end - spec : 32),
                         spec);
    }
    if (path[0] == '\0') {
        return base_errf(errmsg, BASE_EINVAL, "'%s' names no file", spec);
    }
    char full[PATH_MAX];
    if (path[0] != '/' && base_dir != NULL) {
        int n = snprintf(full, sizeof full, "%s/%s", base_dir, path);
        if (n < 0 || (size_t)n >= sizeof full) {
            return base_errf(errmsg, BASE_EINVAL, "path too long: %s/%s",
                             base_dir, path);
        }
        path = full;
    }
    return kv_offchain_open_sqlite(out, path, errmsg);
}

/* Append @n bytes of @p to out[*at..size), keeping room for the NUL. */
static void put_bytes(char *out, size_t size, size_t *at, const char *p,
                      size_t n)
{
    while (n-- > 0 && *at + 1 < size) {
        out[(*at)++] = *p++;
    }
}

void kv_offchain_spec_redact(char *out, size_t size, const char *spec)
{
    if (size == 0) {
        return;
    }
    size_t at = 0;
    const char *p = spec;
    if (is_pg(spec)) {
        /* scheme://[user[:password]@]host...: the user part ends at the
         * last '@' before the path. */
        const char *auth = strstr(spec, "://") + 3;
        const char *end = auth + strcspn(auth, "/?");
        const char *at_sign = NULL;
        for (const char *c = auth; c < end; c++) {
            if (*c == '@') {
                at_sign = c;
            }
        }
        const char *colon = at_sign ? memchr(auth, ':', at_sign - auth) : NULL;
        if (colon != NULL) {
            put_bytes(out, size, &at, spec, (size_t)(colon + 1 - spec));
            put_bytes(out, size, &at, "***", 3);
            p = at_sign;
        }
        /* password=... among the parameters */
        const char *q = strchr(p, '?');
        while (q != NULL) {
            const char *key = q + 1;
            const char *amp = strchr(key, '&');
            if (has_prefix(key, "password=")) {
                put_bytes(out, size, &at, p, (size_t)(key - p) + 9);
                put_bytes(out, size, &at, "***", 3);
                p = amp ? amp : key + strlen(key);
            }
            q = amp;
        }
    }
    put_bytes(out, size, &at, p, strlen(p));
    out[at] = '\0';
}
