/* SPDX-License-Identifier: MIT */
/* Model lifecycle, name tables and the small helpers the other files share. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grid/grid_int.h"

static uint64_t hash_name(const char *s)
{
    /* FNV-1a over the lower-cased name: names are case-insensitive. */
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++) {
        h ^= (uint64_t)(unsigned char)tolower((unsigned char)*s);
        h *= 1099511628211ull;
    }
    return h;
}

static int map_rehash(struct pf__map *mp, size_t ncap)
{
    char **keys = base_calloc(ncap, sizeof(*keys));
    int *vals = base_calloc(ncap, sizeof(*vals));
    if (keys == NULL || vals == NULL) {
        base_free(keys);
        base_free(vals);
        return BASE_ENOMEM;
    }
    for (size_t i = 0; i < mp->cap; i++) {
        if (mp->keys[i] == NULL) {
            continue;
        }
        size_t j = (size_t)(hash_name(mp->keys[i]) & (ncap - 1));
        while (keys[j] != NULL) {
            j = (j + 1) & (ncap - 1);
        }
        keys[j] = mp->keys[i];
        vals[j] = mp->vals[i];
    }
    base_free(mp->keys);
    base_free(mp->vals);
    mp->keys = keys;
    mp->vals = vals;
    mp->cap = ncap;
    return 0;
}

int pf__map_put(struct pf__map *mp, const char *key, int val)
{
    if ((mp->n + 1) * 2 > mp->cap) {
        int rc = map_rehash(mp, mp->cap == 0 ? 16 : mp->cap * 2);
        if (rc != 0) {
            return rc;
        }
    }
    size_t j = (size_t)(hash_name(key) & (mp->cap - 1));
    while (mp->keys[j] != NULL) {
        if (strcasecmp(mp->keys[j], key) == 0) {
            mp->vals[j] = val;
            return 0;
        }
        j = (j + 1) & (mp->cap - 1);
    }
    mp->keys[j] = base_strdup(key);
    if (mp->keys[j] == NULL) {
        return BASE_ENOMEM;
    }
    mp->vals[j] = val;
    mp->n++;
    return 0;
}

int pf__map_get(const struct pf__map *mp, const char *key)
{
    if (mp->cap == 0) {
        return -1;
    }
    size_t j = (size_t)(hash_name(key) & (mp->cap - 1));
    while (mp->keys[j] != NULL) {
        if (strcasecmp(mp->keys[j], key) == 0) {
            return mp->vals[j];
        }
        j = (j + 1) & (mp->cap - 1);
    }
    return -1;
}

void pf__map_release(struct pf__map *mp)
{
    for (size_t i = 0; i < mp->cap; i++) {
        base_free(mp->keys[i]);
    }
    base_free(mp->keys);
    base_free(mp->vals);
    memset(mp, 0, sizeof(*mp));
}

void pf__scopy(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n) {
        len = n - 1;
    }
    memmove(dst, src, len);
    dst[len] = '\0';
}

int pf__grow(void **p, size_t *cap, size_t need, size_t elsz)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap == 0 ? 8 : *cap;
    while (ncap < need) {
        ncap *= 2;
    }
    void *np = base_realloc(*p, ncap * elsz);
    if (np == NULL) {
        return BASE_ENOMEM;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

static void default_options(struct pf_model *m)
{
    m->nvbases = 0;
    m->controls_on = true;
    m->maxcontroliter = 10;
    m->maxiter = 15;
    m->tol = 1e-4;
    m->loadmult = 1.0;
    m->mode_daily = false;
    m->stepsize = 3600.0;
    m->number = 1;
    m->basefreq = 60.0;
    m->bases_done = false;
    m->active_kind = -1;
    m->active_idx = -1;
}

int pf_model_new(struct pf_model **out)
{
    struct pf_model *m = base_calloc(1, sizeof(*m));
    if (m == NULL) {
        return BASE_ENOMEM;
    }
    default_options(m);
    m->dirty = true;
    *out = m;
    return 0;
}

/* Forget every element and option: OpenDSS's Clear. */
void pf__clear(struct pf_model *m)
{
    pf__release_network(m);
    for (size_t i = 0; i < m->nshape; i++) {
        base_free(m->shape[i].mult);
        base_free(m->shape[i].hour);
    }
    base_free(m->vsrc);
    base_free(m->lcode);
    base_free(m->line);
    base_free(m->xf);
    base_free(m->load);
    base_free(m->cap);
    base_free(m->gen);
    base_free(m->rc);
    base_free(m->shape);
    struct pf__map *maps[] = {&m->m_vsrc, &m->m_lcode, &m->m_line,
                              &m->m_xf,   &m->m_load,  &m->m_cap,
                              &m->m_gen,  &m->m_rc,    &m->m_shape};
    for (size_t i = 0; i < BASE_ARRAY_LEN(maps); i++) {
        pf__map_release(maps[i]);
    }
    pf__map_release(&m->m_kvb);
    base_free(m->kvb);
    pf_warn_cb warn = m->warn;
    void *warn_arg = m->warn_arg;
    size_t off = offsetof(struct pf_model, vsrc);
    memset((char *)m + off, 0, sizeof(*m) - off);
    m->warn = warn;
    m->warn_arg = warn_arg;
    default_options(m);
    m->dirty = true;
}

void pf_model_free(struct pf_model *m)
{
    if (m == NULL) {
        return;
    }
    pf__clear(m);
    base_free(m);
}

void pf_set_warn_cb(struct pf_model *m, pf_warn_cb cb, void *arg)
{
    m->warn = cb;
    m->warn_arg = arg;
}

const char *pf_errmsg(const struct pf_model *m)
{
    return m->errmsg;
}

int pf__set_error(struct pf_model *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->errmsg, sizeof(m->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

void pf__warn(struct pf_model *m, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m->warn != NULL) {
        m->warn(m->warn_arg, msg);
    } else {
        BASE_WARN("grid", "%s", msg);
    }
}
