/* SPDX-License-Identifier: MIT */
/* Counters and the Prometheus text exposition of /metrics. */
#include <stdio.h>
#include <string.h>

#include "gw_int.h"

/* HTTP statuses counted per route; anything else goes to the last slot. */
static const unsigned statuses[GW_NSTATUS] = {
    200, 202, 400, 401, 403, 404, 405, 408, 409,
    413, 415, 422, 429, 499, 500, 503, 0,
};

/* Upper bounds of the commit latency buckets, seconds. */
static const double buckets[GW_NBUCKETS] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
};

void gw__metrics_http(struct gw_metrics *m, size_t route, unsigned status)
{
    size_t s = 0;
    while (s < GW_NSTATUS - 1 && statuses[s] != status) {
        s++;
    }
    if (route > gw__nroutes || route >= 63) {
        route = gw__nroutes;
    }
    atomic_fetch_add(&m->http[route][s], 1);
}

static size_t code_slot(int code)
{
    size_t i = code <= 0 ? (size_t)-code : GW_NCODES - 1;
    return i < GW_NCODES ? i : GW_NCODES - 1;
}

void gw__metrics_result(struct gw_metrics *m, int code, bool committed,
                        uint64_t latency_ns)
{
    if (!committed) {
        atomic_fetch_add(&m->refused[code_slot(code)], 1);
        return;
    }
    double secs = (double)latency_ns / 1e9;
    size_t b = 0;
    while (b < GW_NBUCKETS && secs > buckets[b]) {
        b++;
    }
    atomic_fetch_add(&m->lat_bucket[b], 1);
    atomic_fetch_add(&m->lat_count, 1);
    atomic_fetch_add(&m->lat_sum_ns, latency_ns);
}

void gw__metrics_committed(struct gw_metrics *m, const struct lg_outcome *out,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        atomic_fetch_add(&m->committed[code_slot(out[i].code)], 1);
    }
}

void gw__metrics_offchain(struct gw_metrics *m, bool put, int rv)
{
    atomic_fetch_add(&m->off_ops[put ? 0 : 1][rv == 0 ? 0 : 1], 1);
}

static const char *code_name(size_t slot)
{
    return slot == 0 ? "VALID" : base_errname(-(int)slot);
}

static int codes(struct base_buf *out, const char *name, const char *label,
                 const char *help, atomic_uint_fast64_t *c)
{
    int rv = base_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name,
                             help, name);
    /* VALID always appears, so a query over it has a series from start. */
    for (size_t i = 0; rv == 0 && i < GW_NCODES; i++) {
        uint64_t v = atomic_load(&c[i]);
        if (v > 0 || (i == 0 && strstr(name, "committed") != NULL)) {
            rv = base_buf_printf(out, "%s{%s=\"%s\"} %llu\n", name, label,
                                 code_name(i), (unsigned long long)v);
        }
    }
    return rv;
}

int gw__metrics_render(struct gw_server *g, struct base_buf *out)
{
    struct gw_metrics *m = &g->m;
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(g->ch, &height, &tip, &state);
    struct ord_stats st;
    memset(&st, 0, sizeof st);
    if (g->ord != NULL) {
        ord_orderer_stats(g->ord, &st);
    }
    const char *ch = lg_channel_name(g->ch);
    int rv = base_buf_printf(
        out,
        "# HELP gl_block_height Blocks in the channel, genesis included.\n"
        "# TYPE gl_block_height gauge\n"
        "gl_block_height{channel=\"%s\"} %llu\n"
        "# HELP gl_blocks_committed_total Blocks committed since the node "
        "started.\n"
        "# TYPE gl_blocks_committed_total counter\n"
        "gl_blocks_committed_total %llu\n"
        "# HELP gl_pending_transactions Submitted, not yet committed or "
        "refused.\n"
        "# TYPE gl_pending_transactions gauge\n"
        "gl_pending_transactions %llu\n",
        ch, (unsigned long long)height,
        (unsigned long long)atomic_load(&m->blocks),
        (unsigned long long)st.pending);
    /* 1 while the store refuses writes, labelled with the code (the reason
     * text is on /readyz): alert on gl_writes_refused > 0. */
    int refused = lg_write_refusal(g->ledger, NULL);
    if (rv == 0) {
        rv = base_buf_printf(
            out,
            "# HELP gl_writes_refused 1 while the node's store refuses "
            "writes (EPANIC: a fatal storage error, until restart; ENOSPC: "
            "out of room), by code; GET /readyz says why.\n"
            "# TYPE gl_writes_refused gauge\n"
            "gl_writes_refused{reason=\"%s\"} %d\n",
            refused != 0 ? base_errname(refused) : "none", refused != 0);
    }
    if (rv == 0) {
        rv = codes(out, "gl_transactions_committed_total", "result",
                   "Transactions committed in blocks since the node started, "
                   "by result (VALID or the invalid reason code).",
                   m->committed);
    }
    if (rv == 0) {
        rv = codes(out, "gl_transactions_refused_total", "reason",
                   "Transactions refused before ordering, by reason code.",
                   m->refused);
    }
    if (rv == 0) {
        rv = base_buf_printf(
            out, "# HELP gl_commit_latency_seconds From submission through "
                 "the gateway until the block is durable.\n"
                 "# TYPE gl_commit_latency_seconds histogram\n");
    }
    uint64_t cum = 0;
    for (size_t b = 0; rv == 0 && b <= GW_NBUCKETS; b++) {
        cum += atomic_load(&m->lat_bucket[b]);
        if (b < GW_NBUCKETS) {
            rv = base_buf_printf(out,
                                 "gl_commit_latency_seconds_bucket{le=\"%g\"} "
                                 "%llu\n",
                                 buckets[b], (unsigned long long)cum);
        } else {
            rv = base_buf_printf(out,
                                 "gl_commit_latency_seconds_bucket{le=\"+Inf\"}"
                                 " %llu\n",
                                 (unsigned long long)cum);
        }
    }
    if (rv == 0) {
        rv = base_buf_printf(out,
                             "gl_commit_latency_seconds_sum %.9f\n"
                             "gl_commit_latency_seconds_count %llu\n",
                             (double)atomic_load(&m->lat_sum_ns) / 1e9,
                             (unsigned long long)atomic_load(&m->lat_count));
    }
    if (rv == 0) {
        rv = base_buf_printf(out,
                             "# HELP gl_http_requests_total HTTP requests by "
                             "route and status.\n"
                             "# TYPE gl_http_requests_total counter\n");
    }
    for (size_t r = 0; rv == 0 && r <= gw__nroutes; r++) {
        const char *method =
            r < gw__nroutes ? gw__route_table[r].info.method : "";
        const char *path =
            r < gw__nroutes ? gw__route_table[r].info.path : "unmatched";
        for (size_t s = 0; rv == 0 && s < GW_NSTATUS; s++) {
            uint64_t v = atomic_load(&m->http[r][s]);
            if (v == 0) {
                continue;
            }
            char code[8];
            snprintf(code, sizeof code, "%u", statuses[s]);
            rv = base_buf_printf(out,
                                 "gl_http_requests_total{method=\"%s\","
                                 "route=\"%s\",status=\"%s\"} %llu\n",
                                 method, path, statuses[s] ? code : "other",
                                 (unsigned long long)v);
        }
    }
    const char *ops[2] = {"put", "get"}, *res[2] = {"ok", "error"};
    if (rv == 0) {
        rv = base_buf_printf(out,
                             "# HELP gl_offchain_operations_total Off-chain "
                             "store operations by kind and outcome.\n"
                             "# TYPE gl_offchain_operations_total counter\n");
    }
    for (size_t o = 0; rv == 0 && o < 2; o++) {
        for (size_t k = 0; rv == 0 && k < 2; k++) {
            rv = base_buf_printf(
                out,
                "gl_offchain_operations_total{op=\"%s\","
                "result=\"%s\"} %llu\n",
                ops[o], res[k],
                (unsigned long long)atomic_load(&m->off_ops[o][k]));
        }
    }
    if (rv == 0) {
        rv = base_buf_printf(
            out,
            "# HELP gl_contract_events_total Contract events committed since "
            "the node started.\n"
            "# TYPE gl_contract_events_total counter\n"
            "gl_contract_events_total %llu\n"
            "# HELP gl_event_streams Open event-stream connections.\n"
            "# TYPE gl_event_streams gauge\n"
            "gl_event_streams %llu\n",
            (unsigned long long)atomic_load(&m->events),
            (unsigned long long)atomic_load(&m->streams));
    }
    return rv;
}
