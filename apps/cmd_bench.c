/* SPDX-License-Identifier: MIT */
/* gridledger bench: Hyperledger Caliper's metrics for the embedded node. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger bench DIR --workload create|read|update --tx N\n"
    "                        [--rate TPS|max] [--workers K] [--clients C]\n"
    "                        [--json FILE] [--trace FILE] [--block-tx M]\n"
    "                        [--batch-us U] [--acked FILE]\n\n"
    "Run a Hyperledger Caliper style round against the embedded node in DIR\n"
    "and print Caliper's table: Name | Succ | Fail | Send Rate (TPS) |\n"
    "Max/Min/Avg Latency (s) | Throughput (TPS), plus p50 and p99 latency.\n"
    "Definitions (Hyperledger Performance and Scale white paper):\n"
    "  transaction latency  from submission until the transaction's block\n"
    "                       is durable on disk (committed and synced)\n"
    "  read latency         from request until the response\n"
    "  send rate            submitted / (last submission - first)\n"
    "  throughput           successful / (last completion - first "
    "submission)\n"
    "Transactions are signed by C distinct client identities (default "
    "100),\n"
    "certified by DERA1's root key; they are signed before the round\n"
    "starts, so the round measures the ledger, not the client's signing.\n"
    "update and read first create the assets they need (not measured).\n"
    "--rate sends open loop at a fixed rate (default max: as fast as the\n"
    "node accepts). --workers K submitting threads (default: cores).\n"
    "--json FILE writes the table's figures; --trace FILE every request\n"
    "as CSV: sent_utc_ms (when it was sent, or due), latency_ms, code.\n"
    "--acked FILE appends the id of every transaction committed (its\n"
    "block durable), one line each, as it commits (bench/crash.sh).\n"
    "\n"
    "       gridledger bench --node URL --keys DIR --workload "
    "create|read|update\n"
    "                        --tx N [--rate TPS|max] [--connections C]\n"
    "                        [--batch B] [--as ORG/NAME] [--json FILE]\n"
    "                        [--trace FILE] [--acked FILE]\n\n"
    "The same round against a running node over HTTP (the transport of\n"
    "'gridledger http-bench'): transactions signed by --as (default\n"
    "DERA1/operator, key in DIR/keys) before the round, C requests in\n"
    "flight (default 64), B envelopes per request (default 1); latency is\n"
    "from sending to the answer that the block is durable.\n";

/* bench --node: the HTTP transport, http-bench's engine. */
static int bench_remote(const char *node, int argc, char **argv)
{
    const char *keys = app_take_opt(&argc, argv, "--keys");
    const char *pass[] = {"--workload",    "--tx",    "--rate",
                          "--connections", "--batch", "--as",
                          "--json",        "--trace", "--acked"};
    const char *vals[BASE_ARRAY_LEN(pass)];
    for (size_t i = 0; i < BASE_ARRAY_LEN(pass); i++) {
        vals[i] = app_take_opt(&argc, argv, pass[i]);
    }
    if (argc != 1) {
        return cmd_fail(2,
                        "bench --node takes no ledger directory and no "
                        "'%s' (see --help)",
                        argv[1]);
    }
    if (keys == NULL || vals[0] == NULL || vals[1] == NULL) {
        return cmd_fail(2, "bench --node URL needs --keys DIR, --workload and "
                           "--tx");
    }
    char *av[4 + 2 * BASE_ARRAY_LEN(pass) + 1];
    int ac = 0;
    av[ac++] = "http-bench";
    av[ac++] = (char *)node;
    av[ac++] = "--ledger";
    av[ac++] = (char *)keys;
    for (size_t i = 0; i < BASE_ARRAY_LEN(pass); i++) {
        /* --rate max is http-bench's default: as fast as the node answers. */
        if (vals[i] != NULL && !(i == 2 && strcmp(vals[i], "max") == 0)) {
            av[ac++] = (char *)pass[i];
            av[ac++] = (char *)vals[i];
        }
    }
    av[ac] = NULL;
    return cmd_http_bench(ac, av);
}

struct bench {
    struct app_node *node;
    const char *workload;
    size_t n;
    double rate; /* 0: max */
    unsigned workers;
    struct base_buf *txs; /* pre-signed envelopes */
    struct bench_rec *recs;
    struct app_member *clients;
    size_t nclients;
    char prefix[32];
    atomic_size_t sent, completed, failed;
    uint64_t t0;
    int acked_fd; /* --acked: committed transactions' ids; -1: none */
};

static void done_cb(void *arg, const struct ord_result *r)
{
    struct bench_rec *rec = arg;
    rec->done = base_mono_ns();
    rec->code = r->code;
}

/* Each result needs to find its struct bench for the counters; records are
 * one array, so the counters are updated by pointer arithmetic instead. */
static struct bench *current;

static void count_cb(void *arg, const struct ord_result *r)
{
    done_cb(arg, r);
    if (r->committed) {
        bench_acked_log(current->acked_fd, r->id.b);
    }
    if (r->code != 0) {
        atomic_fetch_add(&current->failed, 1);
    }
    atomic_fetch_add(&current->completed, 1);
}

static int make_clients(struct bench *b, const char *dir)
{
    char path[PATH_MAX];
    struct cr_keypair root;
    snprintf(path, sizeof path, "%s/keys/DERA1/root.key", dir);
    if (app_key_read(path, &root) != 0) {
        return cmd_fail(1, "%s: cannot read DERA1's root key", path);
    }
    b->clients = base_calloc(b->nclients, sizeof *b->clients);
    if (b->clients == NULL) {
        return cmd_fail(1, "out of memory");
    }
    uint64_t now = base_wall_ns() / 1000000000u;
    for (size_t i = 0; i < b->nclients; i++) {
        struct app_member *m = &b->clients[i];
        cr_keygen(&m->key);
        snprintf(m->cert.org, sizeof m->cert.org, "DERA1");
        snprintf(m->cert.name, sizeof m->cert.name, "bench-%s-%zu", b->prefix,
                 i);
        snprintf(m->cert.role, sizeof m->cert.role, "dera");
        memcpy(m->cert.pk, m->key.pk, CR_PUBKEY_SIZE);
        m->cert.not_before = now - 60;
        m->cert.expiry = now + 86400;
        if (lg_cert_sign(&m->cert, &root) != 0) {
            return cmd_fail(1, "cannot certify bench clients");
        }
    }
    cr_wipe(&root, sizeof root);
    return 0;
}

struct sign_job {
    struct bench *b;
    const char *fn;
    size_t begin, end;
    int rv;
};

static void *sign_main(void *arg)
{
    struct sign_job *j = arg;
    struct bench *b = j->b;
    for (size_t i = j->begin; i < j->end && j->rv == 0; i++) {
        char id[64], val[32];
        snprintf(id, sizeof id, "%s-%zu", b->prefix, i);
        snprintf(val, sizeof val, "%zu", i);
        struct lg_slice args[2] = {{(const uint8_t *)id, strlen(id)},
                                   {(const uint8_t *)val, strlen(val)}};
        struct lg_call call = {lg_channel_name(b->node->ch), "asset", j->fn, 2,
                               args};
        const struct app_member *m = &b->clients[i % b->nclients];
        base_buf_init(&b->txs[i], 0);
        j->rv = lg_tx_build(&b->txs[i], &call, &m->cert, &m->key, (uint64_t)i,
                            NULL);
    }
    return NULL;
}

static int presign(struct bench *b, const char *fn)
{
    unsigned nt = b->workers;
    struct sign_job jobs[64];
    pthread_t th[64];
    size_t per = (b->n + nt - 1) / nt;
    for (unsigned t = 0; t < nt; t++) {
        size_t lo = t * per, hi = lo + per < b->n ? lo + per : b->n;
        jobs[t] = (struct sign_job){b, fn, lo, hi > lo ? hi : lo, 0};
        pthread_create(&th[t], NULL, sign_main, &jobs[t]);
    }
    int rv = 0;
    for (unsigned t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        rv = rv ? rv : jobs[t].rv;
    }
    return rv;
}

struct worker {
    struct bench *b;
    unsigned index;
};

/* Open loop at a fixed rate: request i is due at t0 + i/rate, whatever
 * happened to the ones before, as Caliper's fixed-rate controller does. */
static void pace(const struct bench *b, size_t i)
{
    if (b->rate > 0) {
        uint64_t due = b->t0 + (uint64_t)((double)i * 1e9 / b->rate);
        uint64_t now = base_mono_ns();
        if (due > now) {
            base_sleep_ns(due - now);
        }
    }
}

static void *send_main(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    for (size_t i = w->index; i < b->n; i += b->workers) {
        pace(b, i);
        struct bench_rec *r = &b->recs[i];
        for (;;) {
            r->sent = base_mono_ns();
            int rv = ord_submit(b->node->solo, b->txs[i].data, b->txs[i].len,
                                count_cb, r);
            if (rv == BASE_EFULL) {
                base_sleep_ns(100000); /* back-pressure: the queue is full */
                continue;
            }
            if (rv != 0) {
                r->code = rv;
                r->done = r->sent;
                atomic_fetch_add(&b->failed, 1);
                atomic_fetch_add(&b->completed, 1);
            }
            break;
        }
        atomic_fetch_add(&b->sent, 1);
    }
    return NULL;
}

static void *read_main(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    for (size_t i = w->index; i < b->n; i += b->workers) {
        pace(b, i);
        char id[64];
        snprintf(id, sizeof id, "%s-%zu", b->prefix, i % b->n);
        struct lg_slice a = {(const uint8_t *)id, strlen(id)};
        struct bench_rec *r = &b->recs[i];
        r->sent = base_mono_ns();
        base_buf_reset(&out);
        r->code = lg_evaluate(b->node->ch, &b->clients[i % b->nclients].cert,
                              "asset", "read", 1, &a, &out, reason);
        r->done = base_mono_ns();
        if (r->code != 0) {
            atomic_fetch_add(&b->failed, 1);
        }
        atomic_fetch_add(&b->completed, 1);
        atomic_fetch_add(&b->sent, 1);
    }
    base_buf_release(&out);
    return NULL;
}

static void progress(struct bench *b, bool tty, const char *what)
{
    while (atomic_load(&b->completed) < b->n) {
        base_sleep_ns(tty ? 200000000 : 1000000000);
        double secs = (double)(base_mono_ns() - b->t0) / 1e9;
        size_t c = atomic_load(&b->completed);
        if (tty) {
            fprintf(stderr, "\r%s: %zu/%zu sent, %zu done, %.1f s   ", what,
                    atomic_load(&b->sent), b->n, c, secs);
        }
    }
    if (tty) {
        fputs("\r\033[K", stderr);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void bench_compute(const struct bench_rec *recs, size_t n,
                   struct bench_metrics *m)
{
    memset(m, 0, sizeof *m);
    uint64_t first_sent = UINT64_MAX, last_sent = 0, last_done = 0;
    uint64_t *lat = base_malloc(n * sizeof *lat);
    size_t nl = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bench_rec *r = &recs[i];
        first_sent = r->sent < first_sent ? r->sent : first_sent;
        last_sent = r->sent > last_sent ? r->sent : last_sent;
        if (r->code != 0) {
            m->fail++;
            continue;
        }
        m->succ++;
        last_done = r->done > last_done ? r->done : last_done;
        uint64_t l = r->done - r->sent;
        if (lat != NULL) {
            lat[nl++] = l;
        }
        sum += (double)l;
    }
    if (n > 1 && last_sent > first_sent) {
        m->send_rate = (double)n / ((double)(last_sent - first_sent) / 1e9);
    }
    if (nl > 0) {
        qsort(lat, nl, sizeof *lat, cmp_u64);
        m->min_l = (double)lat[0] / 1e9;
        m->max_l = (double)lat[nl - 1] / 1e9;
        m->avg_l = sum / (double)nl / 1e9;
        size_t mid = (nl - 1) / 2; /* the median's index */
        m->p50 = (double)lat[mid] / 1e9;
        m->p99 = (double)lat[(size_t)((double)(nl - 1) * 0.99)] / 1e9;
        m->throughput =
            (double)m->succ / ((double)(last_done - first_sent) / 1e9);
    }
    base_free(lat);
}

void bench_print_table(const char *name, const struct bench_metrics *m)
{
    const char *sep = "+--------+--------+------+-----------------+--------"
                      "---------+-----------------+-----------------+------"
                      "------------+";
    puts(sep);
    puts("| Name   | Succ   | Fail | Send Rate (TPS) | Max Latency (s) | "
         "Min Latency (s) | Avg Latency (s) | Throughput (TPS) |");
    puts(sep);
    printf("| %-6s | %-6zu | %-4zu | %-15.1f | %-15.4f | %-15.4f | %-15.4f | "
           "%-16.1f |\n",
           name, m->succ, m->fail, m->send_rate, m->max_l, m->min_l, m->avg_l,
           m->throughput);
    puts(sep);
    printf("p50 latency %.6f s, p99 latency %.6f s\n", m->p50, m->p99);
}

int bench_write_json(const char *path, const char *name,
                     const struct bench_metrics *m)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "{\n  \"name\": \"%s\",\n  \"succ\": %zu,\n  \"fail\": "
                     "%zu,\n  \"send_rate_tps\": %.1f,\n  \"max_latency_s\": "
                     "%.6f,\n  \"min_latency_s\": %.6f,\n  \"avg_latency_s\": "
                     "%.6f,\n  \"p50_latency_s\": %.6f,\n  \"p99_latency_s\": "
                     "%.6f,\n  \"throughput_tps\": %.1f\n}\n",
                     name, m->succ, m->fail, m->send_rate, m->max_l, m->min_l,
                     m->avg_l, m->p50, m->p99, m->throughput);
    if (base_write_file(path, text, (size_t)n) != 0) {
        return cmd_fail(1, "cannot write %s", path);
    }
    return 0;
}

int bench_write_trace(const char *path, const struct bench_rec *recs, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return cmd_fail(1, "cannot write %s: %s", path, strerror(errno));
    }
    /* The records hold monotonic times; the log's are wall-clock. */
    int64_t off = (int64_t)base_wall_ns() - (int64_t)base_mono_ns();
    fputs("sent_utc_ms,latency_ms,code\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct bench_rec *r = &recs[i];
        double lat =
            r->done >= r->sent ? (double)(r->done - r->sent) / 1e6 : 0.0;
        fprintf(f, "%.3f,%.3f,%d\n", ((double)r->sent + (double)off) / 1e6, lat,
                r->code);
    }
    if (fclose(f) != 0) {
        return cmd_fail(1, "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

int bench_acked_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        cmd_fail(1, "cannot write %s: %s", path, strerror(errno));
    }
    return fd;
}

void bench_acked_log(int fd, const uint8_t *id)
{
    if (fd < 0) {
        return;
    }
    char line[2 * CR_HASH_SIZE + 2];
    base_hex_encode(line, id, CR_HASH_SIZE);
    line[2 * CR_HASH_SIZE] = '\n';
    /* One short write to an O_APPEND file: lines from several threads never
     * interleave, and the kernel has it once write returns. */
    ssize_t w = write(fd, line, sizeof line - 1);
    (void)w;
}

/* Submit every pre-signed transaction as fast as possible and wait. Used
 * for the unmeasured setup round of update and read. */
static int run_round(struct bench *b, bool measured_reads)
{
    atomic_store(&b->sent, 0);
    atomic_store(&b->completed, 0);
    atomic_store(&b->failed, 0);
    memset(b->recs, 0, b->n * sizeof *b->recs);
    pthread_t th[64];
    struct worker ws[64];
    b->t0 = base_mono_ns();
    for (unsigned t = 0; t < b->workers; t++) {
        ws[t] = (struct worker){b, t};
        pthread_create(&th[t], NULL, measured_reads ? read_main : send_main,
                       &ws[t]);
    }
    progress(b, isatty(2), b->workload);
    for (unsigned t = 0; t < b->workers; t++) {
        pthread_join(th[t], NULL);
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *url = app_take_opt(&argc, argv, "--node");
    if (url != NULL) {
        return bench_remote(url, argc, argv);
    }
    const char *workload = app_take_opt(&argc, argv, "--workload");
    const char *ntx = app_take_opt(&argc, argv, "--tx");
    const char *rate = app_take_opt(&argc, argv, "--rate");
    const char *workers = app_take_opt(&argc, argv, "--workers");
    const char *clients = app_take_opt(&argc, argv, "--clients");
    const char *json = app_take_opt(&argc, argv, "--json");
    const char *trace = app_take_opt(&argc, argv, "--trace");
    const char *block_tx = app_take_opt(&argc, argv, "--block-tx");
    const char *batch_us = app_take_opt(&argc, argv, "--batch-us");
    const char *channel = app_take_opt(&argc, argv, "--channel");
    const char *acked = app_take_opt(&argc, argv, "--acked");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    uint64_t n = 0, k = 0, c = 100, mb = 0, bu = 0;
    double r = 0;
    if (argc != 2 || argv[1][0] == '-' || workload == NULL || ntx == NULL ||
        base_parse_u64(ntx, &n) != 0 || n == 0 || n > 10000000 ||
        (workers && (base_parse_u64(workers, &k) || k == 0 || k > 64)) ||
        (clients && (base_parse_u64(clients, &c) || c == 0 || c > 100000)) ||
        (block_tx && (base_parse_u64(block_tx, &mb) || mb > 10000)) ||
        (batch_us && base_parse_u64(batch_us, &bu)) ||
        (rate && strcmp(rate, "max") != 0 &&
         (base_parse_double(rate, &r) != 0 || r <= 0))) {
        fputs(usage, stderr);
        return 2;
    }
    bool create = strcmp(workload, "create") == 0;
    bool update = strcmp(workload, "update") == 0;
    bool reads = strcmp(workload, "read") == 0;
    if (!create && !update && !reads) {
        return cmd_fail(2, "workload must be create, read or update");
    }
    if (k == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        k = cores > 0 ? (uint64_t)cores : 1;
    }
    int acked_fd = acked != NULL ? bench_acked_open(acked) : -1;
    if (acked != NULL && acked_fd < 0) {
        return 1;
    }
    struct app_node node;
    if (app_node_open(&node, argv[1], channel, false) != 0) {
        if (acked_fd >= 0) {
            close(acked_fd);
        }
        return 1;
    }
    struct ord_options oo = {.max_block_tx = (unsigned)mb,
                             .batch_timeout = bu * 1000};
    if (app_node_start(&node, argv[1], &oo) != 0) {
        app_node_close(&node);
        if (acked_fd >= 0) {
            close(acked_fd);
        }
        return 1;
    }
    struct bench b;
    memset(&b, 0, sizeof b);
    current = &b;
    b.node = &node;
    b.workload = workload;
    b.n = (size_t)n;
    b.rate = r;
    b.workers = (unsigned)k;
    b.nclients = (size_t)c;
    b.acked_fd = acked_fd;
    uint32_t rnd;
    cr_random(&rnd, sizeof rnd);
    snprintf(b.prefix, sizeof b.prefix, "%08x", rnd);
    b.txs = base_calloc(b.n, sizeof *b.txs);
    b.recs = base_calloc(b.n, sizeof *b.recs);
    int rv = b.txs && b.recs ? 0 : cmd_fail(1, "out of memory");
    if (rv == 0) {
        rv = make_clients(&b, argv[1]);
    }
    if (rv == 0) {
        uint64_t t = base_mono_ns();
        fprintf(stderr, "bench: signing %zu transactions by %zu clients...\n",
                b.n, b.nclients);
        rv = presign(&b, "create") != 0 ? cmd_fail(1, "cannot sign") : 0;
        fprintf(stderr, "bench: signed in %.2f s\n",
                (double)(base_mono_ns() - t) / 1e9);
    }
    if (rv == 0 && (update || reads)) {
        /* Setup round: create the assets, then sign the measured round. */
        double saved = b.rate;
        b.rate = 0;
        fprintf(stderr, "bench: creating %zu assets for the %s round...\n", b.n,
                workload);
        run_round(&b, false);
        b.rate = saved;
        if (atomic_load(&b.failed) != 0) {
            rv = cmd_fail(1, "setup round: %zu of %zu creates failed",
                          atomic_load(&b.failed), b.n);
        }
        for (size_t i = 0; i < b.n; i++) {
            base_buf_release(&b.txs[i]);
        }
        if (rv == 0 && update && presign(&b, "update") != 0) {
            rv = cmd_fail(1, "cannot sign");
        }
    }
    if (rv == 0) {
        fprintf(stderr, "bench: %s round, %zu %s, %u workers, rate %s\n",
                workload, b.n, reads ? "reads" : "transactions", b.workers,
                rate ? rate : "max");
        run_round(&b, reads);
        struct bench_metrics m;
        bench_compute(b.recs, b.n, &m);
        bench_print_table(workload, &m);
        if (json != NULL) {
            rv = bench_write_json(json, workload, &m);
        }
        if (rv == 0 && trace != NULL) {
            rv = bench_write_trace(trace, b.recs, b.n);
        }
        if (rv == 0 && m.fail > 0) {
            /* Report the first failure so a failing run says why. */
            for (size_t i = 0; i < b.n; i++) {
                if (b.recs[i].code != 0) {
                    fprintf(stderr, "bench: first failure: %s\n",
                            base_strerror(b.recs[i].code));
                    break;
                }
            }
        }
    }
    for (size_t i = 0; b.txs && i < b.n; i++) {
        base_buf_release(&b.txs[i]);
    }
    base_free(b.txs);
    base_free(b.recs);
    base_free(b.clients);
    app_node_close(&node);
    if (acked_fd >= 0) {
        close(acked_fd);
    }
    return rv;
}
