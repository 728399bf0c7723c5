/* SPDX-License-Identifier: MIT */
/* petra-bench: PETra on the embedded ledger: clearing time (postOffer
 * submitted to acceptOffer durable) and accepted trades per second, with a
 * fresh anonymous address for every asset, as the paper's prosumers use. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "contract/contract.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "order/order.h"

static const char usage[] =
    "usage: petra-bench [--trades N] [--latency M] [--threads C] [--block B]\n"
    "                   [--no-intro] [--json F]\n"
    "\n"
    "Runs PETra's contract on a fresh embedded ledger in a temporary\n"
    "directory (solo ordering, durable LMDB commits). Every trade uses two\n"
    "fresh anonymous addresses certified by the ANON organisation: a\n"
    "seller's production asset and a buyer's consumption asset with funds,\n"
    "recorded by the DSO beforehand; the DSO's transactions introduce the\n"
    "addresses' certificates (docs/ledger-format.md), so that the ledger\n"
    "checks each once, there (--no-intro: at the address's first trade).\n"
    "  throughput: N asks posted at once, then N acceptOffer submitted at\n"
    "              once (all signed before the clock starts): accepted\n"
    "              trades per second, and post+accept cycles per second\n"
    "  latency:    M trades by C threads, each posting an ask, waiting for\n"
    "              its block, accepting it and waiting again: the clearing\n"
    "              time from postOffer submitted to acceptOffer durable\n"
    "Blocks hold up to B transactions (the solo orderer's max_block_tx).\n"
    "Defaults: N 20000, M 2000, C 1, B 2000. --json writes the figures to F.\n";

#define CHANNEL "bench"

/* Transactions per block (--block): the solo orderer's max_block_tx. */
static unsigned block_tx = 2000;
/* Withdrawals introduce the addresses' certificates (--no-intro: not). */
static bool introduce = true;

struct who {
    struct lg_cert cert;
    struct cr_keypair key;
};

struct bench {
    char dir[PATH_MAX];
    struct sc_registry reg;
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct ord_solo *solo;
    struct cr_keypair orderer, dso_root, anon_root;
    struct who dso;
    atomic_uint_fast64_t nonce;
};

static void certify(struct who *w, const char *org, const char *role,
                    const char *name, const struct cr_keypair *root)
{
    memset(w, 0, sizeof *w);
    cr_keygen(&w->key);
    snprintf(w->cert.org, sizeof w->cert.org, "%s", org);
    snprintf(w->cert.role, sizeof w->cert.role, "%s", role);
    if (name != NULL) {
        snprintf(w->cert.name, sizeof w->cert.name, "%s", name);
    } else {
        base_hex_encode(w->cert.name, w->key.pk, CR_PUBKEY_SIZE);
    }
    memcpy(w->cert.pk, w->key.pk, CR_PUBKEY_SIZE);
    w->cert.not_before = 0;
    w->cert.expiry = 4102444800u;
    if (lg_cert_sign(&w->cert, root) != 0) {
        abort();
    }
}

/* A signed petra call into @out, introducing the certificate of @intro
 * (may be NULL); its id into @id. */
static void build_intro(struct bench *b, struct base_buf *out,
                        const struct who *w, const char *fn, int n,
                        const char *const *argv, const struct who *intro,
                        struct cr_hash *id)
{
    struct lg_slice a[4];
    for (int i = 0; i < n; i++) {
        a[i].p = (const uint8_t *)argv[i];
        a[i].len = strlen(argv[i]);
    }
    struct lg_call c = {CHANNEL, "petra", fn, (uint32_t)n, a};
    struct base_buf cert;
    base_buf_init(&cert, 0);
    base_buf_init(out, 0);
    if ((intro != NULL && lg_cert_encode(&intro->cert, &cert) != 0) ||
        lg_tx_build_intro(out, &c, &(struct lg_slice){cert.data, cert.len},
                          intro != NULL ? 1 : 0, &w->cert, &w->key,
                          atomic_fetch_add(&b->nonce, 1), id) != 0) {
        abort();
    }
    base_buf_release(&cert);
}

static void build(struct bench *b, struct base_buf *out, const struct who *w,
                  const char *fn, int n, const char *const *argv,
                  struct cr_hash *id)
{
    build_intro(b, out, w, fn, n, argv, NULL, id);
}

/* ---- waiting for many asynchronous submissions ------------------------- */

struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t left, bad;
    uint64_t last_ns;
    char reason[LG_REASON_MAX + 1];
};

/* One submission: where its outcome goes. */
struct slot {
    struct wait *w;
    struct ord_result *out; /* may be NULL */
};

static void done_cb(void *arg, const struct ord_result *r)
{
    struct slot *sl = arg;
    struct wait *w = sl->w;
    if (sl->out != NULL) {
        *sl->out = *r;
    }
    pthread_mutex_lock(&w->mu);
    if (r->code != 0 && w->bad++ == 0) {
        snprintf(w->reason, sizeof w->reason, "%s", r->reason);
    }
    w->last_ns = base_mono_ns();
    if (--w->left == 0) {
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Submit @n envelopes at once and wait for all; their outcomes go to
 * @out (NULL: nowhere). Seconds from the first submission to the last
 * commit. */
static double submit_all(struct bench *b, struct base_buf *txs, size_t n,
                         struct ord_result *out, const char *what)
{
    struct wait w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    w.left = n;
    struct slot *slots = calloc(n, sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        slots[i] = (struct slot){&w, out ? &out[i] : NULL};
    }
    uint64_t t0 = base_mono_ns();
    for (size_t i = 0; i < n; i++) {
        int rv;
        while ((rv = ord_submit(b->solo, txs[i].data, txs[i].len, done_cb,
                                &slots[i])) == BASE_EFULL) {
            base_sleep_ns(100000);
        }
        if (rv != 0) {
            fprintf(stderr, "petra-bench: %s: submit: %s\n", what,
                    base_strerror(rv));
            exit(1);
        }
    }
    pthread_mutex_lock(&w.mu);
    while (w.left > 0) {
        pthread_cond_wait(&w.cv, &w.mu);
    }
    pthread_mutex_unlock(&w.mu);
    if (w.bad > 0) {
        fprintf(stderr, "petra-bench: %s: %llu refused or invalid: %s\n", what,
                (unsigned long long)w.bad, w.reason);
        exit(1);
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    free(slots);
    return (double)(w.last_ns - t0) / 1e9;
}

static void free_all(struct base_buf *txs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        base_buf_release(&txs[i]);
    }
    free(txs);
}

/* ---- trades ------------------------------------------------------------- */

/* One trade's parties and assets. */
struct trade {
    struct who seller, buyer;
    char prod[24], cons[24], offer[24];
};

/* The DSO records the assets of @n trades: 2 kW of production and 2 kW of
 * consumption over intervals 10..13 for each, 10 units for each buyer. */
static void withdraw(struct bench *b, struct trade *t, size_t n)
{
    struct base_buf *txs = calloc(3 * n, sizeof *txs);
    struct ord_result *res = calloc(3 * n, sizeof *res);
    for (size_t i = 0; i < n; i++) {
        certify(&t[i].seller, "ANON", "anon", NULL, &b->anon_root);
        certify(&t[i].buyer, "ANON", "anon", NULL, &b->anon_root);
        /* The DSO's withdrawal introduces the fresh address's certificate
         * (as mk_petra_dso_handle does), so the ledger checks it there,
         * off the trading path. */
        const struct who *is = introduce ? &t[i].seller : NULL;
        const char *p[] = {t[i].seller.cert.name, "2000", "10", "13"};
        build_intro(b, &txs[3 * i], &b->dso, "addEnergyAsset", 4, p, is, NULL);
        is = introduce ? &t[i].buyer : NULL;
        const char *c[] = {t[i].buyer.cert.name, "-2000", "10", "13"};
        build_intro(b, &txs[3 * i + 1], &b->dso, "addEnergyAsset", 4, c, is,
                    NULL);
        const char *f[] = {t[i].buyer.cert.name, "10000000"};
        build(b, &txs[3 * i + 2], &b->dso, "addFinancialBalance", 2, f, NULL);
    }
    submit_all(b, txs, 3 * n, res, "withdrawals");
    /* The asset ids follow from where the DSO's transactions landed. */
    for (size_t i = 0; i < n; i++) {
        sc_petra_id(t[i].prod, 'a', res[3 * i].block, &res[3 * i].id, 0);
        sc_petra_id(t[i].cons, 'a', res[3 * i + 1].block, &res[3 * i + 1].id,
                    0);
    }
    free(res);
    free_all(txs, 3 * n);
}

static void post_tx(struct bench *b, struct trade *t, struct base_buf *out)
{
    const char *a[] = {t->prod, "250000"};
    build(b, out, &t->seller, "postOffer", 2, a, NULL);
}

static void accept_tx(struct bench *b, struct trade *t, struct base_buf *out)
{
    const char *a[] = {t->offer, t->cons};
    build(b, out, &t->buyer, "acceptOffer", 2, a, NULL);
}

struct figures {
    size_t trades;
    double post_s, accept_s;
    size_t lat_n;
    unsigned threads;
    double p50, p90, p99, mean, max, lat_tps;
    double exec_post_s, exec_accept_s, cpu_post_s, cpu_accept_s;
};

static void throughput(struct bench *b, size_t n, struct figures *fg)
{
    struct trade *t = calloc(n, sizeof *t);
    withdraw(b, t, n);
    struct base_buf *posts = calloc(n, sizeof *posts);
    struct base_buf *accepts = calloc(n, sizeof *accepts);
    struct ord_result *res = calloc(n, sizeof *res);
    for (size_t i = 0; i < n; i++) {
        post_tx(b, &t[i], &posts[i]);
    }
    fg->trades = n;
    fg->post_s = submit_all(b, posts, n, res, "postOffer");
    /* Every buyer has seen its offer: the accepts are signed before the
     * clock starts again. */
    for (size_t i = 0; i < n; i++) {
        sc_petra_id(t[i].offer, 'o', res[i].block, &res[i].id, -1);
        accept_tx(b, &t[i], &accepts[i]);
    }
    free(res);
    fg->accept_s = submit_all(b, accepts, n, NULL, "acceptOffer");
    free_all(posts, n);
    free_all(accepts, n);
    for (size_t i = 0; i < n; i++) {
        cr_wipe(&t[i], sizeof t[i]);
    }
    free(t);
}

/* The committer alone: blocks of @n admitted transactions (signatures
 * taken as checked) executed and committed with lg_commit, as the solo
 * orderer's committer thread does. Seconds. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double commit_only(struct bench *b, struct base_buf *txs, size_t n,
                          struct trade *offers, double *cpu)
{
    double c0 = thread_cpu_s();
    struct lg_item *it = calloc(n, sizeof *it);
    struct lg_outcome *out = calloc(LG_BLOCK_MAX_TX, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        it[i] = (struct lg_item){txs[i].data, txs[i].len, true};
    }
    uint64_t t0 = base_mono_ns();
    for (size_t i = 0; i < n; i += block_tx) {
        size_t k = n - i < block_tx ? n - i : block_tx;
        struct lg_header h;
        if (lg_commit(b->ch, it + i, k, base_wall_ns(), &b->orderer, out, &h) !=
            0) {
            fprintf(stderr, "petra-bench: commit failed\n");
            exit(1);
        }
        for (size_t j = 0; j < k; j++) {
            if (out[j].code != 0) {
                fprintf(stderr, "petra-bench: %s\n", out[j].reason);
                exit(1);
            }
            if (offers != NULL) {
                sc_petra_id(offers[i + j].offer, 'o', h.number, &out[j].id, -1);
            }
        }
    }
    double s = (double)(base_mono_ns() - t0) / 1e9;
    *cpu = thread_cpu_s() - c0;
    free(it);
    free(out);
    return s;
}

/* Two named entry points, kept out of line, so that a profiler can tell
 * the posts from the acceptances: `valgrind --tool=callgrind
 * --toggle-collect=commit_accepts build/petra-bench` with
 * GL_PETRA_EXEC_ONLY set counts the committer's instructions for the
 * acceptances alone. */
__attribute__((noinline)) static double
commit_posts(struct bench *b, struct base_buf *txs, size_t n,
             struct trade *offers, double *cpu)
{
    return commit_only(b, txs, n, offers, cpu);
}

__attribute__((noinline)) static double
commit_accepts(struct bench *b, struct base_buf *txs, size_t n, double *cpu)
{
    return commit_only(b, txs, n, NULL, cpu);
}

static void execution(struct bench *b, size_t n, struct figures *fg)
{
    struct trade *t = calloc(n, sizeof *t);
    withdraw(b, t, n);
    struct base_buf *posts = calloc(n, sizeof *posts);
    struct base_buf *accepts = calloc(n, sizeof *accepts);
    for (size_t i = 0; i < n; i++) {
        post_tx(b, &t[i], &posts[i]);
    }
    /* The orderer must be idle: stop it for the direct commits. */
    ord_solo_stop(b->solo);
    fg->exec_post_s = commit_posts(b, posts, n, t, &fg->cpu_post_s);
    for (size_t i = 0; i < n; i++) {
        accept_tx(b, &t[i], &accepts[i]);
    }
    fg->exec_accept_s = commit_accepts(b, accepts, n, &fg->cpu_accept_s);
    struct ord_options opt = {.max_block_tx = block_tx};
    if (ord_solo_start(&b->solo, b->ch, &b->orderer, &opt) != 0) {
        exit(1);
    }
    free_all(posts, n);
    free_all(accepts, n);
    free(t);
}

struct worker {
    struct bench *b;
    struct trade *t;
    size_t n;
    double *ms;
};

static void *latency_worker(void *arg)
{
    struct worker *w = arg;
    for (size_t i = 0; i < w->n; i++) {
        struct base_buf post, acc;
        post_tx(w->b, &w->t[i], &post);
        struct ord_result r;
        uint64_t t0 = base_mono_ns();
        int rv = ord_submit_wait(w->b->solo, post.data, post.len, &r);
        /* The buyer sees the offer once its block is in, and accepts. */
        sc_petra_id(w->t[i].offer, 'o', r.block, &r.id, -1);
        accept_tx(w->b, &w->t[i], &acc);
        rv = rv ? rv : ord_submit_wait(w->b->solo, acc.data, acc.len, &r);
        if (rv != 0) {
            fprintf(stderr, "petra-bench: latency trade: %s\n", r.reason);
            exit(1);
        }
        w->ms[i] = (double)(base_mono_ns() - t0) / 1e6;
        base_buf_release(&post);
        base_buf_release(&acc);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *s, size_t n, double p)
{
    return s[(size_t)ceil(p * (double)n) - 1];
}

static void latency(struct bench *b, size_t m, unsigned threads,
                    struct figures *fg)
{
    struct trade *t = calloc(m, sizeof *t);
    withdraw(b, t, m);
    double *ms = calloc(m, sizeof *ms);
    pthread_t th[64];
    struct worker w[64];
    size_t per = m / threads;
    uint64_t t0 = base_mono_ns();
    for (unsigned i = 0; i < threads; i++) {
        w[i] = (struct worker){b, t + i * per, per, ms + i * per};
        pthread_create(&th[i], NULL, latency_worker, &w[i]);
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
    }
    double secs = (double)(base_mono_ns() - t0) / 1e9;
    size_t n = per * threads;
    qsort(ms, n, sizeof *ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += ms[i];
    }
    fg->lat_n = n;
    fg->threads = threads;
    fg->p50 = pct(ms, n, 0.5);
    fg->p90 = pct(ms, n, 0.9);
    fg->p99 = pct(ms, n, 0.99);
    fg->mean = sum / (double)n;
    fg->max = ms[n - 1];
    fg->lat_tps = (double)n / secs;
    free(ms);
    free(t);
}

static void open_ledger(struct bench *b)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(b->dir, sizeof b->dir, "%s/petra-bench-XXXXXX",
             tmp ? tmp : "/tmp");
    if (mkdtemp(b->dir) == NULL || cr_init() != 0) {
        fprintf(stderr, "petra-bench: cannot make a temporary ledger\n");
        exit(1);
    }
    cr_keygen(&b->orderer);
    cr_keygen(&b->dso_root);
    cr_keygen(&b->anon_root);
    certify(&b->dso, "DSO", "dso", "operator", &b->dso_root);
    struct lg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.channel, sizeof cfg.channel, CHANNEL);
    memcpy(cfg.orderer_pk, b->orderer.pk, CR_PUBKEY_SIZE);
    cfg.genesis_time = base_wall_ns();
    cfg.norgs = 2;
    snprintf(cfg.orgs[0].name, LG_NAME_MAX + 1, "DSO");
    memcpy(cfg.orgs[0].root_pk, b->dso_root.pk, CR_PUBKEY_SIZE);
    cfg.orgs[0].nroles = 1;
    snprintf(cfg.orgs[0].roles[0], LG_NAME_MAX + 1, "dso");
    snprintf(cfg.orgs[1].name, LG_NAME_MAX + 1, "ANON");
    memcpy(cfg.orgs[1].root_pk, b->anon_root.pk, CR_PUBKEY_SIZE);
    cfg.orgs[1].nroles = 1;
    snprintf(cfg.orgs[1].roles[0], LG_NAME_MAX + 1, "anon");
    sc_registry_init(&b->reg);
    char err[BASE_ERRMSG_SIZE];
    struct lg_executor ex;
    if (sc_register_builtin(&b->reg) != 0) {
        exit(1);
    }
    ex = sc_executor(&b->reg);
    /* 16 GiB of address space, not the default 64: enough for any run,
     * and within what valgrind can map, for profiling. */
    struct lg_options lo = {.map_size = (uint64_t)16 << 30};
    if (lg_open(&b->l, b->dir, &ex, &lo, err) != 0 ||
        lg_channel_create(b->l, &cfg, &b->orderer, err) != 0 ||
        lg_channel_get(b->l, CHANNEL, &b->ch) != 0) {
        fprintf(stderr, "petra-bench: %s\n", err);
        exit(1);
    }
    struct ord_options opt = {.max_block_tx = block_tx};
    if (ord_solo_start(&b->solo, b->ch, &b->orderer, &opt) != 0) {
        exit(1);
    }
    uint64_t start;
    cr_random(&start, sizeof start);
    atomic_init(&b->nonce, start >> 1);
}

static void close_ledger(struct bench *b)
{
    ord_solo_stop(b->solo);
    lg_close(b->l);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "petra-bench: could not remove %s\n", b->dir);
    }
}

static bool take(int *argc, char **argv, const char *name, long *out)
{
    for (int i = 1; i + 1 < *argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            char *end;
            *out = strtol(argv[i + 1], &end, 10);
            if (*end != '\0' || *out < 1) {
                fprintf(stderr, "petra-bench: %s wants a positive number\n",
                        name);
                exit(2);
            }
            memmove(&argv[i], &argv[i + 2],
                    (size_t)(*argc - i - 2) * sizeof *argv);
            *argc -= 2;
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    long n = 20000, m = 2000, c = 1;
    const char *json = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = argv[i + 1];
            memmove(&argv[i], &argv[i + 2],
                    (size_t)(argc - i - 2) * sizeof *argv);
            argc -= 2;
            break;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-intro") == 0) {
            introduce = false;
            memmove(&argv[i], &argv[i + 1],
                    (size_t)(argc - i - 1) * sizeof *argv);
            argc--;
            break;
        }
    }
    take(&argc, argv, "--trades", &n);
    take(&argc, argv, "--latency", &m);
    take(&argc, argv, "--threads", &c);
    long blk = 2000;
    take(&argc, argv, "--block", &blk);
    block_tx = (unsigned)(blk < LG_BLOCK_MAX_TX ? blk : LG_BLOCK_MAX_TX);
    if (argc != 1 || c > 64 || m < c) {
        fputs(usage, stderr);
        return 2;
    }
    struct bench *b = calloc(1, sizeof *b);
    struct figures fg;
    memset(&fg, 0, sizeof fg);
    open_ledger(b);
    bool tty = isatty(STDERR_FILENO);
    /* GL_PETRA_EXEC_ONLY: just the committer, for profiling it. */
    bool exec_only = getenv("GL_PETRA_EXEC_ONLY") != NULL;
    if (tty) {
        fprintf(stderr, "petra-bench: %ld trades for throughput...\n", n);
    }
    if (exec_only) {
        execution(b, (size_t)n, &fg);
        printf("%.1f us CPU per post, %.1f us per accept\n",
               fg.cpu_post_s * 1e6 / (double)n,
               fg.cpu_accept_s * 1e6 / (double)n);
        close_ledger(b);
        return 0;
    }
    throughput(b, (size_t)n, &fg);
    if (tty) {
        fprintf(stderr,
                "petra-bench: %ld trades for latency, %ld thread%s...\n", m, c,
                c == 1 ? "" : "s");
    }
    latency(b, (size_t)m, (unsigned)c, &fg);
    if (tty) {
        fprintf(stderr, "petra-bench: %ld trades executed alone...\n", n);
    }
    execution(b, (size_t)n, &fg);
    close_ledger(b);
    free(b);
    printf("PETra on the embedded ledger (durable commits, fresh addresses)\n");
    printf("  %-44s %10.0f /s  (%zu in %.3f s)\n", "postOffer committed",
           (double)fg.trades / fg.post_s, fg.trades, fg.post_s);
    printf("  %-44s %10.0f /s  (%zu in %.3f s)\n",
           "accepted trades (acceptOffer committed)",
           (double)fg.trades / fg.accept_s, fg.trades, fg.accept_s);
    printf("  %-44s %10.0f /s\n", "full trades (post + accept)",
           (double)fg.trades / (fg.post_s + fg.accept_s));
    printf("  %-44s %10.0f /s  (%.1f us CPU each)\n",
           "postOffer executed and committed alone",
           (double)fg.trades / fg.exec_post_s,
           fg.cpu_post_s * 1e6 / (double)fg.trades);
    printf("  %-44s %10.0f /s  (%.1f us CPU each)\n",
           "acceptOffer executed and committed alone",
           (double)fg.trades / fg.exec_accept_s,
           fg.cpu_accept_s * 1e6 / (double)fg.trades);
    printf("  clearing time, %zu trades, %u thread%s: p50 %.2f ms, p90 %.2f "
           "ms, p99 %.2f ms, mean %.2f ms, max %.2f ms (%.0f trades/s)\n",
           fg.lat_n, fg.threads, fg.threads == 1 ? "" : "s", fg.p50, fg.p90,
           fg.p99, fg.mean, fg.max, fg.lat_tps);
    if (json != NULL) {
        FILE *f = fopen(json, "w");
        if (f == NULL) {
            fprintf(stderr, "petra-bench: cannot write %s\n", json);
            return 1;
        }
        fprintf(f,
                "{\"trades\": %zu, \"post_per_s\": %.1f, \"accept_per_s\": "
                "%.1f, \"full_trades_per_s\": %.1f, \"latency\": {\"n\": %zu, "
                "\"threads\": %u, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                "\"p99_ms\": %.3f, \"mean_ms\": %.3f, \"max_ms\": %.3f, "
                "\"trades_per_s\": %.1f}}\n",
                fg.trades, (double)fg.trades / fg.post_s,
                (double)fg.trades / fg.accept_s,
                (double)fg.trades / (fg.post_s + fg.accept_s), fg.lat_n,
                fg.threads, fg.p50, fg.p90, fg.p99, fg.mean, fg.max,
                fg.lat_tps);
        fclose(f);
    }
    return 0;
}
