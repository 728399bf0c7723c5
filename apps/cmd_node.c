/* SPDX-License-Identifier: MIT */
/* gridledger node: serve a ledger over HTTP until SIGINT/SIGTERM. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cmd.h"
#include "dash/dash.h"
#include "gateway/gateway.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger node DIR [--listen HOST:PORT] [--channel C]\n"
    "           [--tls-cert PEM --tls-key PEM] [--require-key]\n"
    "           [--max-body BYTES] [--max-connections N] [--idle-timeout S]\n"
    "           [--max-streams N] [--max-streams-per-client N]\n"
    "           [--request-timeout S] [--threads N] [--block-tx M]\n"
    "           [--batch-us U] [--max-pending P]\n"
    "           [--log-level debug|info|warn|error]\n"
    "           [--no-access-log] [--ready-file FILE]\n"
    "           [--cluster ID@RAFTHOST:PORT/HTTPHOST:PORT,... [--id ID]\n"
    "            [--join] [--snapshot-threshold N] [--snapshot-trailing N]\n"
    "            [--snapshot-mib M] [--segment-mib M] [--election-ms MS]]\n\n"
    "Serve the ledger in DIR over HTTP (docs/api.md) until SIGINT or\n"
    "SIGTERM, then stop cleanly: no new connections, every submitted\n"
    "transaction is committed and answered, the store is closed. A restart\n"
    "resumes from the last committed block.\n\n"
    "  --listen HOST:PORT     default 127.0.0.1:7050; port 0 picks a free "
    "one\n"
    "  --tls-cert, --tls-key  serve HTTPS with this PEM certificate and key\n"
    "  --require-key          every /v1 route needs an API key (signed\n"
    "                         envelopes on /v1/tx and /v1/evaluate excepted;\n"
    "                         a cluster's nodes sign their reads of blocks)\n"
    "  --max-body BYTES       request body limit (default 8388608)\n"
    "  --max-connections N    request connections at most (default 1000);\n"
    "                         8 more are kept for /healthz, /readyz and\n"
    "                         /metrics, which always answer\n"
    "  --max-streams N        event streams (GET /v1/events) at most, in a\n"
    "                         pool of their own (default 256); more are\n"
    "                         refused 503\n"
    "  --max-streams-per-client N  event streams one API key, and one\n"
    "                         source address, may hold (default 16); more\n"
    "                         are refused 429\n"
    "  --idle-timeout S       close a connection silent for S s (default 30)\n"
    "  --request-timeout S    a body must arrive within S s (default 30)\n"
    "  --threads N            HTTP threads (default: one per core)\n"
    "  --block-tx M, --batch-us U   block size and batching wait of the\n"
    "                         orderer (defaults 2000 and 0: cut at once)\n"
    "  --max-pending P        transactions the orderer holds at most; more\n"
    "                         are refused with 503 (default 200000)\n"
    "  --ready-file FILE      write the node's URL there once it listens\n\n"
    "Cluster (docs/cluster.md): with --cluster the node orders with the\n"
    "other members through Raft instead of alone. Each member is\n"
    "ID@RAFTHOST:PORT/HTTPHOST:PORT: its Raft address (IPv4) and its HTTP\n"
    "address, where a follower forwards submissions to the leader. Every\n"
    "node starts from a copy of the same ledger directory (gridledger\n"
    "init once, then copy it); DIR/raft holds the Raft log.\n"
    "  --id ID                which member this node is (default: the one\n"
    "                         whose HTTP address is --listen)\n"
    "  --listen               defaults to this member's HTTP address\n"
    "  --join                 a new member of a running cluster: DIR needs\n"
    "                         only keys/orderer.key; the genesis block comes\n"
    "                         from a member, the chain from a snapshot and\n"
    "                         the log once the leader adds this node\n"
    "                         (gridledger cluster add)\n"
    "  --snapshot-threshold N, --snapshot-trailing N   Raft log entries\n"
    "                         (blocks) between a follower's snapshots, and\n"
    "                         kept after one (defaults 4096 and 1024); the\n"
    "                         leader snapshots 4 times less often\n"
    "  --snapshot-mib M       a snapshot once M MiB of log have come since\n"
    "                         the last, whatever the count (default 64)\n"
    "  --segment-mib M        size of a Raft log segment file (default 32)\n"
    "  --election-ms MS       election timeout (default 300)\n\n"
    "Logs are JSON lines on stderr, one per request unless "
    "--no-access-log.\n"
    "API keys: 'gridledger apikey --help'.\n";

static int parse_uint(const char *v, const char *name, uint64_t max,
                      uint64_t *out)
{
    if (v != NULL && (base_parse_u64(v, out) != 0 || *out > max)) {
        return cmd_fail(2, "%s must be a number up to %llu, not '%s'", name,
                        (unsigned long long)max, v);
    }
    return 0;
}

/* ---- the seams: ordering and the off-chain store -------------------------
 * The node reaches ordering only through node_ordering(), and opens the
 * off-chain store only in node_offchain_open(): a replicated orderer or
 * another store backend plugs in there and nowhere else. */

/* The node's orderer through order.h's common interface: solo, or a
 * cluster node's Raft orderer; nothing else changes. */
static struct ord_orderer *node_ordering(struct app_node *n,
                                         struct ord_raft *raft)
{
    return raft != NULL ? ord_raft_orderer(raft) : ord_solo_orderer(n->solo);
}

static int node_offchain_open(const char *dir, struct kv_offchain **out)
{
    /* The store DIR/config.json names (SQLite by default, or PostgreSQL;
     * docs/offchain.md). */
    return app_offchain_open(dir, out);
}

/* How an API key reaches its member's key and certificate. */
static int load_identity(void *arg, const char *who, struct lg_cert *cert,
                         struct cr_keypair *key)
{
    struct app_member m;
    if (app_member_load(&m, arg, who) != 0) {
        return BASE_ENOTFOUND;
    }
    *cert = m.cert;
    *key = m.key;
    cr_wipe(&m.key, sizeof m.key);
    return 0;
}

static int read_pem(const char *path, char **out)
{
    size_t len;
    if (base_read_file(path, 1 << 20, out, &len) != 0) {
        return cmd_fail(1, "cannot read %s", path);
    }
    return 0;
}

static int set_level(const char *name)
{
    const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            base_log_set_level((enum base_log_level)i);
            return 0;
        }
    }
    return cmd_fail(2, "--log-level must be debug, info, warn or error");
}

struct node_args {
    const char *dir, *channel, *ready;
    const char *cert_path, *key_path;
    uint64_t block_tx, batch_us, max_pending;
    struct gw_options gw;
    struct app_cluster cl;
};

static int serve(struct node_args *a, const sigset_t *stop)
{
    struct app_node n;
    if (a->cl.spec != NULL && a->cl.join &&
        app_cluster_genesis(&a->cl, a->dir, a->channel) != 0) {
        return 1;
    }
    if (app_node_open(&n, a->dir, a->channel, false) != 0) {
        return 1;
    }
    char keys[PATH_MAX], err[BASE_ERRMSG_SIZE];
    snprintf(keys, sizeof keys, "%s/%s", a->dir, APP_APIKEYS_FILE);
    a->gw.keys_path = keys;
    a->gw.identity = load_identity;
    a->gw.identity_arg = (void *)a->dir;
    struct kv_offchain *off = NULL;
    struct gw_server *g = NULL;
    struct gw_peers *peers = NULL;
    struct ord_raft *raft = NULL;
    /* The dashboard at / (docs/dashboard.md); released after gw_free. */
    struct dash_pages pages;
    if (dash_pages_load(&pages, a->dir, err) != 0) {
        app_node_close(&n);
        return cmd_fail(1, "%s", err);
    }
    a->gw.pages = pages.pages;
    a->gw.npages = pages.n;
    int rv = node_offchain_open(a->dir, &off);
    struct ord_options oo = {.max_block_tx = (unsigned)a->block_tx,
                             .batch_timeout = a->batch_us * 1000,
                             .max_pending = (size_t)a->max_pending};
    /* The gateway subscribes to commits before ordering starts; it gets
     * the orderer through the seam once it runs. */
    if (rv == 0 && gw_new(&g, n.ledger, n.ch, off, &a->gw, err) != 0) {
        rv = cmd_fail(1, "%s", err);
    }
    if (rv == 0 && a->cl.spec == NULL) {
        rv = app_node_start(&n, a->dir, &oo);
    } else if (rv == 0) {
        rv = app_cluster_start(&a->cl, &n, a->dir, &oo, &peers, &raft);
        if (rv == 0) {
            gw_set_cluster(g, raft);
        }
    }
    if (rv == 0) {
        if (gw_start(g, node_ordering(&n, raft), err) != 0) {
            rv = cmd_fail(1, "%s", err);
        }
    }
    if (rv == 0) {
        uint64_t height;
        struct cr_hash tip, state;
        lg_channel_tip(n.ch, &height, &tip, &state);
        char url[300];
        const char *host = a->gw.listen;
        size_t hl = strrchr(host, ':') ? (size_t)(strrchr(host, ':') - host)
                                       : strlen(host);
        snprintf(url, sizeof url, "%s://%.*s:%u\n",
                 a->gw.tls_cert ? "https" : "http", (int)hl, host, gw_port(g));
        BASE_INFO("node", "serving channel %s of %s at height %llu on %.*s",
                  lg_channel_name(n.ch), a->dir, (unsigned long long)height,
                  (int)strlen(url) - 1, url);
        if (a->ready && base_write_file(a->ready, url, strlen(url)) != 0) {
            rv = cmd_fail(1, "cannot write %s", a->ready);
        }
    }
    if (rv == 0) {
        int sig = 0;
        sigwait(stop, &sig);
        BASE_INFO("node", "signal %d: stopping", sig);
    }
    /* Stop in dependency order: no new requests, then ordering commits and
     * answers everything it holds, then the last connections close, then
     * the stores. */
    gw_quiesce(g);
    ord_solo_stop(n.solo);
    n.solo = NULL;
    ord_raft_stop(raft);
    gw_peers_free(peers);
    gw_free(g);
    dash_pages_release(&pages);
    kv_offchain_close(off);
    if (rv == 0) {
        uint64_t height;
        struct cr_hash tip, state;
        lg_channel_tip(n.ch, &height, &tip, &state);
        BASE_INFO("node", "stopped at height %llu", (unsigned long long)height);
    }
    app_node_close(&n);
    return rv;
}

int cmd_node(int argc, char **argv)
{
    struct node_args a;
    memset(&a, 0, sizeof a);
    a.gw.listen = app_take_opt(&argc, argv, "--listen");
    a.channel = app_take_opt(&argc, argv, "--channel");
    a.cert_path = app_take_opt(&argc, argv, "--tls-cert");
    a.key_path = app_take_opt(&argc, argv, "--tls-key");
    a.ready = app_take_opt(&argc, argv, "--ready-file");
    const char *max_body = app_take_opt(&argc, argv, "--max-body");
    const char *max_conn = app_take_opt(&argc, argv, "--max-connections");
    const char *idle = app_take_opt(&argc, argv, "--idle-timeout");
    const char *streams = app_take_opt(&argc, argv, "--max-streams");
    const char *per_client =
        app_take_opt(&argc, argv, "--max-streams-per-client");
    const char *req = app_take_opt(&argc, argv, "--request-timeout");
    const char *threads = app_take_opt(&argc, argv, "--threads");
    const char *block_tx = app_take_opt(&argc, argv, "--block-tx");
    const char *batch_us = app_take_opt(&argc, argv, "--batch-us");
    const char *pending = app_take_opt(&argc, argv, "--max-pending");
    const char *level = app_take_opt(&argc, argv, "--log-level");
    a.cl.spec = app_take_opt(&argc, argv, "--cluster");
    const char *id = app_take_opt(&argc, argv, "--id");
    const char *snap = app_take_opt(&argc, argv, "--snapshot-threshold");
    const char *trail = app_take_opt(&argc, argv, "--snapshot-trailing");
    const char *elect = app_take_opt(&argc, argv, "--election-ms");
    const char *snap_mib = app_take_opt(&argc, argv, "--snapshot-mib");
    const char *seg_mib = app_take_opt(&argc, argv, "--segment-mib");
    a.cl.join = app_take_flag(&argc, argv, "--join");
    a.gw.require_key = app_take_flag(&argc, argv, "--require-key");
    a.gw.access_log = !app_take_flag(&argc, argv, "--no-access-log");
    if (argc >= 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        if (argc > 2) {
            cmd_fail(2, "unexpected argument '%s'", argv[2]);
        }
        fputs(usage, stderr);
        return 2;
    }
    a.dir = argv[1];
    uint64_t mb = 0, mc = 0, it = 0, rt = 0, th = 0, ms = 0, mpc = 0;
    if (parse_uint(max_body, "--max-body", 1u << 30, &mb) ||
        parse_uint(max_conn, "--max-connections", 100000, &mc) ||
        parse_uint(idle, "--idle-timeout", 86400, &it) ||
        parse_uint(streams, "--max-streams", 100000, &ms) ||
        parse_uint(per_client, "--max-streams-per-client", 100000, &mpc) ||
        parse_uint(req, "--request-timeout", 86400, &rt) ||
        parse_uint(threads, "--threads", 256, &th) ||
        parse_uint(block_tx, "--block-tx", LG_BLOCK_MAX_TX, &a.block_tx) ||
        parse_uint(batch_us, "--batch-us", 10000000, &a.batch_us) ||
        parse_uint(pending, "--max-pending", 10000000, &a.max_pending) ||
        parse_uint(id, "--id", UINT32_MAX, &a.cl.id) ||
        parse_uint(snap, "--snapshot-threshold", UINT32_MAX,
                   &a.cl.snapshot_threshold) ||
        parse_uint(trail, "--snapshot-trailing", UINT32_MAX,
                   &a.cl.snapshot_trailing) ||
        parse_uint(elect, "--election-ms", 60000, &a.cl.election_ms) ||
        parse_uint(snap_mib, "--snapshot-mib", 1u << 20, &a.cl.snapshot_mib) ||
        parse_uint(seg_mib, "--segment-mib", 1024, &a.cl.segment_mib)) {
        return 2;
    }
    if (seg_mib != NULL && a.cl.segment_mib < 8) {
        /* A segment holds whole blocks: the biggest is a few MiB. */
        return cmd_fail(2, "--segment-mib must be at least 8, not '%s'",
                        seg_mib);
    }
    if (a.cl.spec == NULL &&
        (id || snap || trail || elect || snap_mib || seg_mib || a.cl.join)) {
        return cmd_fail(2, "--id, --join, --snapshot-threshold, "
                           "--snapshot-trailing, --snapshot-mib, "
                           "--segment-mib and --election-ms go with "
                           "--cluster");
    }
    if (a.cl.spec != NULL && a.cert_path != NULL) {
        return cmd_fail(2, "a cluster node serves plain HTTP: its peers "
                           "forward to it without TLS (docs/cluster.md); "
                           "leave out --tls-cert");
    }
    if (a.cl.spec != NULL &&
        app_cluster_parse(&a.cl, a.gw.listen, &a.gw.listen) != 0) {
        return 2;
    }
    if ((a.cert_path != NULL) != (a.key_path != NULL)) {
        return cmd_fail(2, "--tls-cert and --tls-key go together");
    }
    a.gw.max_body = (size_t)mb;
    a.gw.max_connections = (unsigned)mc;
    a.gw.max_streams = (unsigned)ms;
    a.gw.max_streams_per_client = (unsigned)mpc;
    a.gw.idle_timeout_s = (unsigned)it;
    a.gw.request_timeout_s = (unsigned)rt;
    a.gw.threads = (unsigned)th;
    if (a.gw.listen == NULL) {
        a.gw.listen = "127.0.0.1:7050";
    }
    base_log_set_json(true);
    if (getenv("GRIDLEDGER_LOG") == NULL) {
        base_log_set_level(BASE_LOG_INFO);
    }
    if (level != NULL && set_level(level) != 0) {
        return 2;
    }
    char *cert = NULL, *key = NULL;
    if (a.cert_path != NULL &&
        (read_pem(a.cert_path, &cert) != 0 || read_pem(a.key_path, &key))) {
        base_free(cert);
        return 1;
    }
    a.gw.tls_cert = cert;
    a.gw.tls_key = key;
    /* Every thread started from here on inherits the blocked signals, so
     * SIGINT and SIGTERM reach only the sigwait() of serve(). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rv = serve(&a, &stop);
    if (key != NULL) {
        cr_wipe(key, strlen(key));
    }
    base_free(cert);
    base_free(key);
    return rv;
}
