/* SPDX-License-Identifier: MIT */
/* raft-bench: throughput, commit latency and failover of a Raft cluster of
 * three nodes in one process (docs/performance.md, "Raft cluster"). */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contract/contract.h"
#include "order/order.h"

static const char usage[] =
    "usage: raft-bench [--tx N] [--rate TPS|max] [--target leader|all]\n"
    "                  [--nodes 3] [--clients C] [--workers K]\n"
    "                  [--block-tx M] [--batch-us U] [--snapshot N]\n"
    "                  [--failover] [--dir DIR] [--keep] [--no-verify]\n\n"
    "Start a cluster of Raft orderer nodes in this process (each with its\n"
    "own ledger, Raft log and TCP port on 127.0.0.1; submissions reach\n"
    "the leader through the in-process hub), then run a round of N signed\n"
    "asset.create transactions (pre-signed by C clients certified by\n"
    "DERA1) and print Caliper's columns and p50/p99 commit latency.\n"
    "Latency: from submission until the block is durable on the node the\n"
    "transaction was submitted to (committed by Raft, stored in LMDB).\n"
    "  --target leader   submit to the leader (default); all: round-robin\n"
    "                    over every node, followers forwarding\n"
    "  --rate            open-loop rate (default max: as fast as accepted)\n"
    "  --failover        at 1/3 of the round, stop the leader at once;\n"
    "                    report the time until a new leader orders and\n"
    "                    until commits resume, and check that no\n"
    "                    acknowledged transaction is missing\n"
    "  --snapshot N      Raft snapshot threshold in entries (default 4096)\n"
    "  --dir DIR         where the nodes live (default: a temporary dir,\n"
    "                    removed afterwards unless --keep)\n"
    "Each node's directory passes lg_verify at the end (--no-verify skips\n"
    "it, for profiling the round alone).\n";

#define MAXN 5

struct rec {
    uint64_t sent;
    uint64_t done;
    int code;
    bool committed;
};

struct node {
    char dir[PATH_MAX];
    char raft_dir[PATH_MAX];
    struct lg_ledger *l;
    struct ord_raft *r;
};

struct bench {
    size_t n;
    double rate;
    bool all;
    unsigned workers;
    size_t nclients;
    size_t nnodes;
    struct ord_raft_options opt;
    struct sc_registry reg;
    struct lg_executor exec;
    struct cr_keypair orderer, roots[4];
    struct lg_config cfg;
    struct lg_cert *certs;
    struct cr_keypair *keys;
    struct ord_hub *hub;
    struct ord_member members[MAXN];
    struct node nodes[MAXN];
    struct base_buf *txs;
    struct rec *recs;
    pthread_rwlock_t lock; /* held for writing while a node stops */
    atomic_size_t sent, completed, failed;
    uint64_t t0;
    size_t leader;
};

static int fail(const char *msg, const char *arg)
{
    fprintf(stderr, "raft-bench: %s%s\n", msg, arg);
    return 1;
}

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    unsigned port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static void org(struct lg_org *o, const char *name, const char *role,
                const struct cr_keypair *root)
{
    snprintf(o->name, sizeof o->name, "%s", name);
    memcpy(o->root_pk, root->pk, CR_PUBKEY_SIZE);
    o->nroles = 1;
    snprintf(o->roles[0], sizeof o->roles[0], "%s", role);
}

/* Keys, the channel configuration, and the client certificates. */
static int make_consortium(struct bench *b)
{
    cr_keygen(&b->orderer);
    for (int i = 0; i < 4; i++) {
        cr_keygen(&b->roots[i]);
    }
    snprintf(b->cfg.channel, sizeof b->cfg.channel, "energy");
    memcpy(b->cfg.orderer_pk, b->orderer.pk, CR_PUBKEY_SIZE);
    b->cfg.genesis_time = base_wall_ns();
    b->cfg.norgs = 4;
    org(&b->cfg.orgs[0], "ISO", "iso", &b->roots[0]);
    org(&b->cfg.orgs[1], "DSO", "dso", &b->roots[1]);
    org(&b->cfg.orgs[2], "DERA1", "dera", &b->roots[2]);
    org(&b->cfg.orgs[3], "DERA2", "dera", &b->roots[3]);
    b->certs = base_calloc(b->nclients, sizeof *b->certs);
    b->keys = base_calloc(b->nclients, sizeof *b->keys);
    if (b->certs == NULL || b->keys == NULL) {
        return BASE_ENOMEM;
    }
    uint64_t now = base_wall_ns() / 1000000000u;
    for (size_t i = 0; i < b->nclients; i++) {
        struct lg_cert *c = &b->certs[i];
        cr_keygen(&b->keys[i]);
        snprintf(c->org, sizeof c->org, "DERA1");
        snprintf(c->name, sizeof c->name, "bench-%zu", i);
        snprintf(c->role, sizeof c->role, "dera");
        memcpy(c->pk, b->keys[i].pk, CR_PUBKEY_SIZE);
        c->not_before = now - 60;
        c->expiry = now + 86400;
        int rv = lg_cert_sign(c, &b->roots[2]);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

struct sign_job {
    struct bench *b;
    size_t begin, end;
    int rv;
};

static void *sign_main(void *arg)
{
    struct sign_job *j = arg;
    struct bench *b = j->b;
    for (size_t i = j->begin; i < j->end && j->rv == 0; i++) {
        char id[32], val[32];
        snprintf(id, sizeof id, "a%zu", i);
        snprintf(val, sizeof val, "%zu", i);
        struct lg_slice args[2] = {{(const uint8_t *)id, strlen(id)},
                                   {(const uint8_t *)val, strlen(val)}};
        struct lg_call call = {"energy", "asset", "create", 2, args};
        base_buf_init(&b->txs[i], 0);
        j->rv = lg_tx_build(&b->txs[i], &call, &b->certs[i % b->nclients],
                            &b->keys[i % b->nclients], (uint64_t)i, NULL);
    }
    return NULL;
}

static int presign(struct bench *b)
{
    struct sign_job jobs[16];
    pthread_t th[16];
    unsigned nt = b->workers < 16 ? b->workers : 16;
    size_t per = (b->n + nt - 1) / nt;
    for (unsigned t = 0; t < nt; t++) {
        size_t lo = t * per, hi = lo + per < b->n ? lo + per : b->n;
        jobs[t] = (struct sign_job){b, lo, hi > lo ? hi : lo, 0};
        pthread_create(&th[t], NULL, sign_main, &jobs[t]);
    }
    int rv = 0;
    for (unsigned t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        rv = rv ? rv : jobs[t].rv;
    }
    return rv;
}

static int start_node(struct bench *b, size_t i, char *err)
{
    struct node *nd = &b->nodes[i];
    if (nd->l == NULL) {
        int rv = lg_open(&nd->l, nd->dir, &b->exec, NULL, err);
        if (rv != 0) {
            return rv;
        }
    }
    return ord_raft_start(&nd->r, nd->l, "energy", nd->raft_dir, i + 1,
                          b->members, b->nnodes, &b->orderer, &b->opt, err);
}

static int make_nodes(struct bench *b, const char *root)
{
    char err[BASE_ERRMSG_SIZE];
    for (size_t i = 0; i < b->nnodes; i++) {
        struct node *nd = &b->nodes[i];
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/node%zu", root, i + 1);
        memcpy(nd->dir, dir, sizeof dir);
        snprintf(nd->raft_dir, sizeof nd->raft_dir, "%s/raft", dir);
        b->members[i].id = i + 1;
        snprintf(b->members[i].address, sizeof b->members[i].address,
                 "127.0.0.1:%u", free_port());
        int rv = base_mkdirs(nd->dir, 0700);
        if (rv == 0) {
            rv = lg_open(&nd->l, nd->dir, &b->exec, NULL, err);
        }
        if (rv == 0) {
            rv = lg_channel_create(nd->l, &b->cfg, &b->orderer, err);
        }
        if (rv != 0) {
            return fail("cannot create node: ", err);
        }
    }
    for (size_t i = 0; i < b->nnodes; i++) {
        if (start_node(b, i, err) != 0) {
            return fail("cannot start node: ", err);
        }
    }
    return 0;
}

/* Index of the node that leads and has applied its anchor, or nnodes. */
static size_t find_leader(struct bench *b)
{
    for (size_t i = 0; i < b->nnodes; i++) {
        if (b->nodes[i].r == NULL) {
            continue;
        }
        struct ord_raft_status st;
        ord_raft_status(b->nodes[i].r, &st);
        if (st.role == ORD_LEADER && st.leader_id == i + 1 &&
            st.last_applied == st.commit_index && st.commit_index > 1) {
            return i;
        }
    }
    return b->nnodes;
}

static size_t wait_leader(struct bench *b, unsigned ms)
{
    uint64_t end = base_mono_ns() + (uint64_t)ms * 1000000u;
    size_t l;
    while ((l = find_leader(b)) == b->nnodes && base_mono_ns() < end) {
        base_sleep_ns(1000000);
    }
    return l;
}

static void done_cb(void *arg, const struct ord_result *r);

struct worker {
    struct bench *b;
    unsigned index;
};

static struct bench *current;

static void done_cb(void *arg, const struct ord_result *r)
{
    struct rec *rec = arg;
    rec->done = base_mono_ns();
    rec->code = r->code;
    rec->committed = r->committed;
    if (r->code != 0) {
        atomic_fetch_add(&current->failed, 1);
    }
    atomic_fetch_add(&current->completed, 1);
}

static void *send_main(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    size_t rr = w->index;
    for (size_t i = w->index; i < b->n; i += b->workers) {
        if (b->rate > 0) {
            uint64_t due = b->t0 + (uint64_t)((double)i * 1e9 / b->rate);
            uint64_t now = base_mono_ns();
            if (due > now) {
                base_sleep_ns(due - now);
            }
        }
        struct rec *r = &b->recs[i];
        for (;;) {
            pthread_rwlock_rdlock(&b->lock);
            size_t target = b->all ? rr++ % b->nnodes : b->leader;
            struct ord_raft *node = b->nodes[target].r;
            for (size_t k = 1; node == NULL && k <= b->nnodes; k++) {
                node = b->nodes[(target + k) % b->nnodes].r;
            }
            r->sent = base_mono_ns();
            int rv = node == NULL ? BASE_ECLOSED
                                  : ord_raft_submit(node, b->txs[i].data,
                                                    b->txs[i].len, done_cb, r);
            pthread_rwlock_unlock(&b->lock);
            if (rv == BASE_EFULL) {
                base_sleep_ns(100000);
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

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;
    return a < c ? -1 : a > c;
}

static void report(struct bench *b)
{
    uint64_t first = UINT64_MAX, last_sent = 0, last_done = 0;
    uint64_t *lat = base_malloc(b->n * sizeof *lat);
    size_t nl = 0, fails = 0;
    double sum = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct rec *r = &b->recs[i];
        first = r->sent < first ? r->sent : first;
        last_sent = r->sent > last_sent ? r->sent : last_sent;
        if (r->code != 0) {
            fails++;
            continue;
        }
        last_done = r->done > last_done ? r->done : last_done;
        lat[nl++] = r->done - r->sent;
        sum += (double)(r->done - r->sent);
    }
    double send_rate = last_sent > first
                           ? (double)b->n / ((double)(last_sent - first) / 1e9)
                           : 0;
    qsort(lat, nl, sizeof *lat, cmp_u64);
    double tp = nl > 0 ? (double)nl / ((double)(last_done - first) / 1e9) : 0;
    const char *sep = "+--------+--------+------+-----------------+--------"
                      "---------+-----------------+-----------------+------"
                      "------------+";
    puts(sep);
    puts("| Name   | Succ   | Fail | Send Rate (TPS) | Max Latency (s) | "
         "Min Latency (s) | Avg Latency (s) | Throughput (TPS) |");
    puts(sep);
    printf("| %-6s | %-6zu | %-4zu | %-15.1f | %-15.4f | %-15.4f | %-15.4f | "
           "%-16.1f |\n",
           "create", nl, fails, send_rate, nl ? (double)lat[nl - 1] / 1e9 : 0,
           nl ? (double)lat[0] / 1e9 : 0, nl ? sum / (double)nl / 1e9 : 0, tp);
    puts(sep);
    if (nl > 0) {
        printf("p50 latency %.2f ms, p99 latency %.2f ms\n",
               (double)lat[(nl - 1) / 2] / 1e6,
               (double)lat[(size_t)((double)(nl - 1) * 0.99)] / 1e6);
    }
    base_free(lat);
}

/* The largest gap between two successive commits after @from: how long
 * the cluster stopped committing across the failover. */
static double commit_gap_ms(struct bench *b, uint64_t from)
{
    size_t nd = 0;
    uint64_t *done = base_malloc(b->n * sizeof *done);
    for (size_t i = 0; i < b->n; i++) {
        if (b->recs[i].code == 0 && b->recs[i].done >= from) {
            done[nd++] = b->recs[i].done;
        }
    }
    qsort(done, nd, sizeof *done, cmp_u64);
    uint64_t gap = nd > 0 ? done[0] - from : 0;
    for (size_t i = 1; i < nd; i++) {
        gap = done[i] - done[i - 1] > gap ? done[i] - done[i - 1] : gap;
    }
    base_free(done);
    return (double)gap / 1e6;
}

static int failover(struct bench *b)
{
    while (atomic_load(&b->sent) < b->n / 3) {
        base_sleep_ns(1000000);
    }
    size_t old = b->leader;
    uint64_t t0 = base_mono_ns();
    pthread_rwlock_wrlock(&b->lock);
    ord_raft_stop(b->nodes[old].r);
    b->nodes[old].r = NULL;
    pthread_rwlock_unlock(&b->lock);
    uint64_t t1 = base_mono_ns();
    size_t next = wait_leader(b, 10000);
    uint64_t t2 = base_mono_ns();
    if (next == b->nnodes) {
        return fail("no new leader within 10 s", "");
    }
    pthread_rwlock_wrlock(&b->lock);
    b->leader = next;
    pthread_rwlock_unlock(&b->lock);
    while (atomic_load(&b->completed) < b->n) {
        base_sleep_ns(1000000);
    }
    printf("failover: leader node %zu stopped in %.1f ms; node %zu leads "
           "and orders %.0f ms after the stop; longest pause between "
           "commits %.0f ms\n",
           old + 1, (double)(t1 - t0) / 1e6, next + 1, (double)(t2 - t1) / 1e6,
           commit_gap_ms(b, t0));
    /* Every acknowledged transaction must be on the nodes still up. */
    size_t missing = 0, acked = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->recs[i].code != 0) {
            continue;
        }
        acked++;
        struct lg_tx tx;
        if (lg_tx_decode(&tx, b->txs[i].data, b->txs[i].len) != 0) {
            continue;
        }
        for (size_t k = 0; k < b->nnodes; k++) {
            struct lg_channel *ch;
            struct lg_tx_info info;
            if (b->nodes[k].r != NULL &&
                (lg_channel_get(b->nodes[k].l, "energy", &ch) != 0 ||
                 lg_tx_find(ch, &tx.id, &info) != 0)) {
                /* A follower may still be applying the last block. */
                base_sleep_ns(200000000);
                if (lg_tx_find(ch, &tx.id, &info) != 0) {
                    missing++;
                }
            }
        }
    }
    printf("acknowledged %zu, missing on a running node %zu\n", acked, missing);
    char err[BASE_ERRMSG_SIZE];
    if (start_node(b, old, err) != 0) {
        return fail("cannot restart the old leader: ", err);
    }
    return missing == 0 ? 0 : 1;
}

static int verify_all(struct bench *b, const char *root)
{
    int rv = 0;
    for (size_t i = 0; i < b->nnodes; i++) {
        lg_close(b->nodes[i].l);
        b->nodes[i].l = NULL;
    }
    for (size_t i = 0; i < b->nnodes; i++) {
        char scratch[PATH_MAX];
        snprintf(scratch, sizeof scratch, "%s/verify%zu", root, i + 1);
        struct lg_verify_report rep;
        int v = base_mkdirs(scratch, 0700);
        if (v == 0) {
            v = lg_verify(b->nodes[i].dir, scratch, &b->exec, &rep);
        }
        printf("node %zu: verify %s (%llu blocks, %llu transactions)%s%s\n",
               i + 1, v == 0 ? "ok" : "FAILED", (unsigned long long)rep.blocks,
               (unsigned long long)rep.txs, v == 0 ? "" : ": ",
               v == 0 ? "" : rep.error);
        rv = rv ? rv : v;
    }
    return rv;
}

/* Wait until every running node holds the same chain as the leader. */
static void settle(struct bench *b)
{
    uint64_t end = base_mono_ns() + 20000000000ull;
    while (base_mono_ns() < end) {
        uint64_t h[MAXN];
        bool same = true;
        for (size_t i = 0; i < b->nnodes; i++) {
            struct ord_raft_status st;
            ord_raft_status(b->nodes[i].r, &st);
            h[i] = st.height;
            same = same && h[i] == h[0];
        }
        if (same) {
            return;
        }
        base_sleep_ns(10000000);
    }
}

static bool take(int *argc, char **argv, const char *name, const char **val)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            bool flag = val == NULL;
            if (!flag && i + 1 >= *argc) {
                return false;
            }
            if (!flag) {
                *val = argv[i + 1];
            }
            int k = flag ? 1 : 2;
            memmove(&argv[i], &argv[i + k],
                    (size_t)(*argc - i - k) * sizeof *argv);
            *argc -= k;
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    const char *ntx = "20000", *rate = "max", *target = "leader", *nodes = "3",
               *clients = "100", *workers = NULL, *block_tx = "0",
               *batch_us = "0", *snap = "0", *dir = NULL;
    take(&argc, argv, "--tx", &ntx);
    take(&argc, argv, "--rate", &rate);
    take(&argc, argv, "--target", &target);
    take(&argc, argv, "--nodes", &nodes);
    take(&argc, argv, "--clients", &clients);
    take(&argc, argv, "--workers", &workers);
    take(&argc, argv, "--block-tx", &block_tx);
    take(&argc, argv, "--batch-us", &batch_us);
    take(&argc, argv, "--snapshot", &snap);
    take(&argc, argv, "--dir", &dir);
    bool fo = take(&argc, argv, "--failover", NULL);
    bool keep = take(&argc, argv, "--keep", NULL);
    bool noverify = take(&argc, argv, "--no-verify", NULL);
    if (argc == 2 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    struct bench b;
    memset(&b, 0, sizeof b);
    current = &b;
    uint64_t n, nn, nc, nw = 0, mb, bu, st;
    if (argc != 1 || base_parse_u64(ntx, &n) || n == 0 || n > 5000000 ||
        base_parse_u64(nodes, &nn) || nn < 1 || nn > MAXN ||
        base_parse_u64(clients, &nc) || nc == 0 || nc > 100000 ||
        (workers && (base_parse_u64(workers, &nw) || nw == 0 || nw > 64)) ||
        base_parse_u64(block_tx, &mb) || mb > LG_BLOCK_MAX_TX ||
        base_parse_u64(batch_us, &bu) || base_parse_u64(snap, &st) ||
        (strcmp(rate, "max") != 0 &&
         (base_parse_double(rate, &b.rate) || b.rate <= 0)) ||
        (strcmp(target, "leader") != 0 && strcmp(target, "all") != 0)) {
        fputs(usage, stderr);
        return 2;
    }
    if (nw == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        nw = cores > 0 ? (uint64_t)cores : 1;
    }
    b.n = n;
    b.nnodes = nn;
    b.nclients = nc;
    b.workers = (unsigned)nw;
    b.all = strcmp(target, "all") == 0;
    b.opt.order.max_block_tx = (unsigned)mb;
    b.opt.order.batch_timeout = bu * 1000;
    b.opt.snapshot_threshold = (unsigned)st;
    b.opt.drain_timeout = fo ? 1 : 0;
    if (cr_init() != 0 || ord_hub_new(&b.hub) != 0) {
        return fail("cannot initialise", "");
    }
    b.opt.peers = ord_hub_ops();
    b.opt.peers_impl = b.hub;
    if (getenv("GRIDLEDGER_LOG") == NULL) {
        base_log_set_level(BASE_LOG_ERROR);
    }
    sc_registry_init(&b.reg);
    if (sc_register_builtin(&b.reg) != 0) {
        return fail("cannot register the contracts", "");
    }
    b.exec = sc_executor(&b.reg);
    char root[PATH_MAX];
    if (dir != NULL) {
        snprintf(root, sizeof root, "%s", dir);
        if (base_mkdirs(root, 0700) != 0) {
            return fail("cannot create ", root);
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/raft-bench-XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(root) == NULL) {
            return fail("cannot create a directory in ", tmp ? tmp : "/tmp");
        }
    }
    b.txs = base_calloc(b.n, sizeof *b.txs);
    b.recs = base_calloc(b.n, sizeof *b.recs);
    pthread_rwlock_init(&b.lock, NULL);
    int rv = b.txs && b.recs ? make_consortium(&b) : BASE_ENOMEM;
    if (rv != 0) {
        return fail("setup: ", base_strerror(rv));
    }
    fprintf(stderr, "raft-bench: signing %zu transactions...\n", b.n);
    if (presign(&b) != 0) {
        return fail("cannot sign the transactions", "");
    }
    if (make_nodes(&b, root) != 0) {
        return 1;
    }
    b.leader = wait_leader(&b, 10000);
    if (b.leader == b.nnodes) {
        return fail("no leader within 10 s", "");
    }
    fprintf(stderr, "raft-bench: %zu nodes in %s, node %zu leads\n", b.nnodes,
            root, b.leader + 1);
    pthread_t th[64];
    struct worker ws[64];
    b.t0 = base_mono_ns();
    for (unsigned t = 0; t < b.workers; t++) {
        ws[t] = (struct worker){&b, t};
        pthread_create(&th[t], NULL, send_main, &ws[t]);
    }
    int frv = fo ? failover(&b) : 0;
    bool tty = isatty(2);
    while (atomic_load(&b.completed) < b.n) {
        base_sleep_ns(200000000);
        if (tty) {
            fprintf(stderr, "\r%zu/%zu sent, %zu done, %.1f s   ",
                    atomic_load(&b.sent), b.n, atomic_load(&b.completed),
                    (double)(base_mono_ns() - b.t0) / 1e9);
        }
    }
    if (tty) {
        fputs("\r\033[K", stderr);
    }
    for (unsigned t = 0; t < b.workers; t++) {
        pthread_join(th[t], NULL);
    }
    report(&b);
    settle(&b);
    for (size_t i = 0; i < b.nnodes; i++) {
        ord_raft_stop(b.nodes[i].r);
    }
    rv = (noverify ? 0 : verify_all(&b, root)) || frv;
    for (size_t i = 0; noverify && i < b.nnodes; i++) {
        lg_close(b.nodes[i].l);
    }
    ord_hub_free(b.hub);
    for (size_t i = 0; i < b.n; i++) {
        base_buf_release(&b.txs[i]);
    }
    base_free(b.txs);
    base_free(b.recs);
    base_free(b.certs);
    base_free(b.keys);
    pthread_rwlock_destroy(&b.lock);
    if (!keep) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0) {
            fprintf(stderr, "raft-bench: could not remove %s\n", root);
        }
    }
    return rv;
}
