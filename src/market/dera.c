/* SPDX-License-Identifier: MIT */
/* The aggregator's arithmetic: offer curves and award allocation. */
#include <stdlib.h>
#include <string.h>

#include "market.h"

struct ranked {
    const struct mk_entry *e;
    size_t i;
};

static int by_price(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->e->price != y->e->price) {
        return x->e->price < y->e->price ? -1 : 1;
    }
    return strcmp(x->e->der, y->e->der);
}

/* Entries with kW, cheapest first; ties by DER id so that every run and
 * every node ranks them alike. Returns the count; *out is base_free'd by
 * the caller. */
static size_t rank(const struct mk_bid *b, struct ranked **out)
{
    struct ranked *r = base_calloc(b->n ? b->n : 1, sizeof *r);
    size_t n = 0;
    for (size_t i = 0; r != NULL && i < b->n; i++) {
        if (b->e[i].kw > 0) {
            r[n].e = &b->e[i];
            r[n++].i = i;
        }
    }
    if (n > 1) {
        qsort(r, n, sizeof *r, by_price);
    }
    *out = r;
    return n;
}

size_t mk_dera_offer(const struct mk_bid *b, struct mk_step *out)
{
    struct ranked *r;
    size_t n = rank(b, &r);
    for (size_t k = 0; r != NULL && k < n; k++) {
        snprintf(out[k].dera, sizeof out[k].dera, "%s", b->dera);
        out[k].kw = r[k].e->kw;
        out[k].price = r[k].e->price;
    }
    base_free(r);
    return r != NULL ? n : 0;
}

double mk_dera_allocate(const struct mk_bid *b, double award_kw, double *alloc)
{
    for (size_t i = 0; i < b->n; i++) {
        alloc[i] = 0;
    }
    struct ranked *r;
    size_t n = rank(b, &r);
    double left = award_kw;
    for (size_t k = 0; r != NULL && k < n && left > 1e-9; k++) {
        double a = r[k].e->kw < left ? r[k].e->kw : left;
        alloc[r[k].i] = a;
        left -= a;
    }
    base_free(r);
    return award_kw - (left > 0 ? left : 0);
}
