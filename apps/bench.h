/* SPDX-License-Identifier: MIT */
/* Caliper's metrics, shared by the benchmark commands (apps/cmd_bench.c
 * embedded, apps/cmd_http_bench.c over HTTP). */
#ifndef GL_APPS_BENCH_H
#define GL_APPS_BENCH_H

#include <stddef.h>
#include <stdint.h>

/** One request: when it was sent (or due, for a fixed rate), when its
 *  answer came, and its result code (0: success). */
struct bench_rec {
    uint64_t sent;
    uint64_t done;
    int code;
};

/** Caliper's columns plus p50 and p99 latency (seconds, TPS). */
struct bench_metrics {
    size_t succ, fail;
    double send_rate, max_l, min_l, avg_l, p50, p99, throughput;
};

/** Compute the metrics of @n records (definitions: docs/performance.md). */
void bench_compute(const struct bench_rec *recs, size_t n,
                   struct bench_metrics *m);
/** Print Caliper's table for round @name. */
void bench_print_table(const char *name, const struct bench_metrics *m);
/** Write the metrics as JSON to @path. Prints the reason on failure. */
int bench_write_json(const char *path, const char *name,
                     const struct bench_metrics *m);
/** Write every record of @recs to @path as CSV, one line a request:
 *  when it was sent (or due), as UTC milliseconds, its latency in ms and
 *  its code; to see when in a round the slow ones were (and match them
 *  with a node's log). @recs' times are base_mono_ns(). Prints the reason
 *  on failure. */
int bench_write_trace(const char *path, const struct bench_rec *recs, size_t n);

/** Open @path (appended to, created 0644) for the log of acknowledged
 *  transactions: one line each, the 64-hex id of a transaction the node
 *  answered as committed (its block durable). Each line is one write(2) as
 *  the acknowledgement arrives, so a client or node killed midway leaves
 *  every acknowledgement it had (bench/crash.sh checks them against the
 *  ledger). Returns the descriptor, or -1 after printing why. */
int bench_acked_open(const char *path);
/** Log the 32-byte transaction id @id to @fd (nothing when @fd < 0). */
void bench_acked_log(int fd, const uint8_t *id);

#endif
