/* SPDX-License-Identifier: MIT */
/* The ISO's clearing: the paper's "every offer cleared", or merit order
 * against a demand at a uniform marginal price. */
#include <stdlib.h>
#include <string.h>

#include "market.h"

static int by_price(const void *a, const void *b)
{
    const struct mk_step *const *x = a, *const *y = b;
    if ((*x)->price != (*y)->price) {
        return (*x)->price < (*y)->price ? -1 : 1;
    }
    return strcmp((*x)->dera, (*y)->dera);
}

void mk_iso_clear(const struct mk_step *steps, size_t n, enum mk_iso_mode mode,
                  double demand_kw, double price_cap, double *award,
                  double *price, double *cleared)
{
    *price = 0;
    *cleared = 0;
    for (size_t i = 0; i < n; i++) {
        award[i] = 0;
    }
    if (mode == MK_ISO_ALL) {
        for (size_t i = 0; i < n; i++) {
            award[i] = steps[i].kw;
            *cleared += steps[i].kw;
            if (steps[i].kw > 0 && steps[i].price > *price) {
                *price = steps[i].price;
            }
        }
        return;
    }
    /* An array of pointers: the pointer size is meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    const struct mk_step **order = base_calloc(n ? n : 1, sizeof *order);
    if (order == NULL) {
        return; /* nothing cleared: the caller sees cleared == 0 */
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = &steps[i];
    }
    /* An array of pointers: the pointer size is meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    qsort(order, n, sizeof *order, by_price);
    double left = demand_kw;
    for (size_t k = 0; k < n && left > 1e-9; k++) {
        const struct mk_step *s = order[k];
        if (s->kw <= 0 || s->price > price_cap) {
            continue;
        }
        double a = s->kw < left ? s->kw : left;
        award[s - steps] = a;
        left -= a;
        *cleared += a;
        *price = s->price; /* the marginal offer sets the uniform price */
    }
    base_free(order);
}
