/* SPDX-License-Identifier: MIT */
/* Public header of dash: the node's dashboard, its page built into the
 * binary from web/dashboard/ (docs/dashboard.md), and the market run's
 * data a node finds beside its ledger. */
#ifndef GL_DASH_H
#define GL_DASH_H

#include <stddef.h>

#include "base/base.h"
#include "gateway/gateway.h"

#define DASH_MAX_PAGES 2

/* The pages a node serves: hand @pages and @n to gw_options (borrowed
 * there until gw_free; release these after it). */
struct dash_pages {
    struct gw_page pages[DASH_MAX_PAGES];
    size_t n;
    char *run; /* owned: the body of /ui/run.json */
    size_t run_len;
};

/**
 * Fill @p with the dashboard at "/" and the market run's data at
 * "/ui/run.json". When the ledger @ledger_dir is a market run's output
 * (`gridledger run` writes OUT/ledger beside OUT/report-data.json and
 * OUT/results.json), run.json is {"available": true, "file", "data": the
 * run's report-data.json}; otherwise {"available": false, "reason"}. A
 * missing or unreadable run file is not an error: run.json says why.
 * Errors: BASE_ENOMEM (@errmsg says so).
 */
int dash_pages_load(struct dash_pages *p, const char *ledger_dir,
                    char *errmsg) BASE_WUR;
/** Free what dash_pages_load made; @p may be zeroed or NULL. */
void dash_pages_release(struct dash_pages *p);

#endif
