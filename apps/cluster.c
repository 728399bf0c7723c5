/* SPDX-License-Identifier: MIT */
/* A node's cluster settings, its Raft orderer, the join, and HTTP to
 * members (apps/cluster.h). */
#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "cmd.h"

int app_cluster_parse(struct app_cluster *c, const char *listen,
                      const char **listen_out)
{
    char err[BASE_ERRMSG_SIZE];
    if (ord_cluster_parse(c->spec, c->members, ORD_MAX_MEMBERS, &c->nmembers,
                          err) != 0) {
        return cmd_fail(2, "--cluster: %s", err);
    }
    const struct ord_member *self = NULL;
    for (size_t i = 0; i < c->nmembers; i++) {
        char http[ORD_ADDRESS_MAX];
        ord_address_split(c->members[i].address, NULL, 0, http, sizeof http);
        if (http[0] == '\0') {
            return cmd_fail(2,
                            "--cluster: node %llu has no HTTP address: write "
                            "each member as ID@RAFTHOST:PORT/HTTPHOST:PORT "
                            "(followers forward to the leader's)",
                            (unsigned long long)c->members[i].id);
        }
        if (c->id != 0 ? c->members[i].id == c->id
                       : listen != NULL && strcmp(http, listen) == 0) {
            self = &c->members[i];
        }
    }
    if (self == NULL && c->id != 0) {
        return cmd_fail(2, "--id %llu is not in the --cluster list",
                        (unsigned long long)c->id);
    }
    if (self == NULL) {
        return cmd_fail(2, "say which member this node is: --id ID (or a "
                           "--listen equal to one member's HTTP address)");
    }
    c->id = self->id;
    ord_address_split(self->address, NULL, 0, c->listen, sizeof c->listen);
    *listen_out = listen != NULL ? listen : c->listen;
    return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    struct base_buf *b = arg;
    return base_buf_add(b, data, size * n) == 0 ? size * n : 0;
}

int app_http(const char *url, const char *ctype, const void *body, size_t len,
             long timeout_ms, long *status, struct base_buf *reply)
{
    return app_http_header(url, NULL, ctype, body, len, timeout_ms, status,
                           reply);
}

int app_http_header(const char *url, const char *header, const char *ctype,
                    const void *body, size_t len, long timeout_ms, long *status,
                    struct base_buf *reply)
{
    *status = 0;
    base_buf_reset(reply);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        return BASE_EIO;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return BASE_ENOMEM;
    }
    struct curl_slist *h = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (header != NULL) {
        h = curl_slist_append(h, header);
    }
    if (body != NULL) {
        char type[128];
        snprintf(type, sizeof type, "Content-Type: %s", ctype);
        h = curl_slist_append(h, type);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    int rv = BASE_EIO;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        rv = 0;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rv;
}

/* Every node of a cluster holds the orderer key, a new one included. */
static int read_orderer(const char *dir, struct cr_keypair *kp)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/keys/orderer.key", dir);
    if (app_key_read(path, kp) != 0) {
        return cmd_fail(1,
                        "%s: cannot read the orderer key (every node of a "
                        "cluster holds it: copy keys/ from a member)",
                        path);
    }
    return 0;
}

int app_cluster_genesis(const struct app_cluster *c, const char *dir,
                        const char *channel)
{
    const char *name = channel != NULL ? channel : APP_DEFAULT_CHANNEL;
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    if (base_mkdirs(dir, 0700) != 0) {
        return cmd_fail(1, "cannot create %s", dir);
    }
    struct sc_registry reg;
    sc_registry_init(&reg);
    if (sc_register_builtin(&reg) != 0) {
        return cmd_fail(1, "cannot register contracts");
    }
    struct lg_executor ex = sc_executor(&reg);
    struct lg_ledger *l;
    struct lg_channel *ch;
    char err[BASE_ERRMSG_SIZE];
    if (lg_open(&l, dir, &ex, NULL, err) != 0) {
        return cmd_fail(1, "%s: %s", dir, err);
    }
    if (lg_channel_get(l, name, &ch) == 0) {
        lg_close(l); /* joined before: a restart */
        return 0;
    }
    /* The genesis block of a member: lg_channel_join checks it is a valid
     * block 0, and the cluster's anchor later checks it is the cluster's
     * (docs/cluster.md). The request is signed with the orderer key, so
     * that a member run with --require-key serves it. */
    struct cr_keypair orderer;
    if (read_orderer(dir, &orderer) != 0) {
        lg_close(l);
        return 1;
    }
    const char *target = "/v1/blocks/0?format=binary";
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = 1;
    for (size_t i = 0; rv != 0 && i < c->nmembers; i++) {
        if (c->members[i].id == c->id) {
            continue;
        }
        char http[ORD_ADDRESS_MAX], url[ORD_ADDRESS_MAX + 64];
        ord_address_split(c->members[i].address, NULL, 0, http, sizeof http);
        snprintf(url, sizeof url, "http://%s%s", http, target);
        char header[GW_PEER_HEADER_MAX];
        long status = 0;
        if (gw_peer_header(&orderer, c->id, 0, "GET", target, header) != 0 ||
            app_http_header(url, header, NULL, NULL, 0, 5000, &status, &b) !=
                0 ||
            status != 200) {
            BASE_WARN("node", "no genesis block from node %llu (%s): HTTP %ld",
                      (unsigned long long)c->members[i].id, url, status);
            continue;
        }
        if (lg_channel_join(l, b.data, b.len, err) != 0) {
            rv = cmd_fail(1, "%s: the genesis block node %llu sent: %s", dir,
                          (unsigned long long)c->members[i].id, err);
            break;
        }
        BASE_INFO("node",
                  "joined channel %s with the genesis block of node "
                  "%llu",
                  name, (unsigned long long)c->members[i].id);
        rv = 0;
    }
    if (rv > 0 && b.len == 0) {
        cmd_fail(1,
                 "%s: no member of the cluster sent its genesis block: "
                 "is the cluster running?",
                 dir);
    }
    base_buf_release(&b);
    cr_wipe(&orderer, sizeof orderer);
    lg_close(l);
    return rv;
}

int app_cluster_start(struct app_cluster *c, struct app_node *n,
                      const char *dir, const struct ord_options *oo,
                      struct gw_peers **peers, struct ord_raft **raft)
{
    char path[PATH_MAX], err[BASE_ERRMSG_SIZE];
    if (read_orderer(dir, &n->orderer) != 0) {
        return 1;
    }
    int rv = gw_peers_new(peers, &n->orderer);
    if (rv != 0) {
        return cmd_fail(1, "cannot set up the peers: %s", base_strerror(rv));
    }
    struct ord_raft_options ro;
    memset(&ro, 0, sizeof ro);
    ro.order = *oo;
    ro.join = c->join;
    /* The leader admits every forwarded submission: a follower does not
     * check it first (one signature check fewer per transaction; a
     * refusal comes back signed, docs/cluster.md). */
    ro.forward_unchecked = true;
    ro.snapshot_threshold = (unsigned)c->snapshot_threshold;
    ro.snapshot_trailing = (unsigned)c->snapshot_trailing;
    ro.snapshot_bytes = c->snapshot_mib << 20;
    ro.segment_size = c->segment_mib << 20;
    ro.election_timeout_ms = (unsigned)c->election_ms;
    ro.peers = gw_peer_ops();
    ro.peers_impl = *peers;
    /* A node behind a snapshot fetches the blocks it lacks from the
     * members' gateways. */
    ro.blocks = gw_block_source();
    ro.blocks_impl = *peers;
    snprintf(path, sizeof path, "%s/raft", dir);
    rv = ord_raft_start(raft, n->ledger, lg_channel_name(n->ch), path, c->id,
                        c->members, c->nmembers, &n->orderer, &ro, err);
    if (rv != 0) {
        gw_peers_free(*peers);
        *peers = NULL;
        return cmd_fail(1, "%s: cannot start cluster node %llu: %s", dir,
                        (unsigned long long)c->id, err);
    }
    BASE_INFO("node", "cluster node %llu of %zu%s, Raft log in %s",
              (unsigned long long)c->id, c->nmembers,
              c->join ? ", joining" : "", path);
    return 0;
}
