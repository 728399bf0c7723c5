/* SPDX-License-Identifier: MIT */
/* What the cluster commands share: a node's --cluster settings, starting
 * its Raft orderer, and a small HTTP client for talking to members
 * (gridledger node --cluster, status, cluster add). */
#ifndef GL_APPS_CLUSTER_H
#define GL_APPS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gateway.h"
#include "node.h"
#include "order/order.h"

/** A node's place in a cluster, from its command line. */
struct app_cluster {
    const char *spec; /* --cluster (borrowed from argv); NULL: solo */
    uint64_t id;      /* --id; 0 until app_cluster_parse picks it */
    bool join;
    uint64_t snapshot_threshold, snapshot_trailing, election_ms;
    uint64_t snapshot_mib, segment_mib; /* 0: the defaults */
    struct ord_member members[ORD_MAX_MEMBERS];
    size_t nmembers;
    char listen[ORD_ADDRESS_MAX]; /* this member's HTTP address */
};

/** Parse c->spec: every member must name its HTTP address. Picks c->id
 *  from @listen when --id was not given; *@listen_out gets @listen, or
 *  this member's HTTP address when @listen is NULL (borrowed from @c).
 *  Prints the reason and returns non-zero on failure. */
int app_cluster_parse(struct app_cluster *c, const char *listen,
                      const char **listen_out);

/** A joining node whose ledger in @dir lacks channel @channel (NULL: the
 *  default) fetches the genesis block from a member's gateway and joins
 *  the channel with it (lg_channel_join); with the channel already there
 *  (a restart) it does nothing. The request is signed with
 *  DIR/keys/orderer.key (X-Gridledger-Peer), for members that run with
 *  --require-key. Prints the reason and returns non-zero on
 *  failure. */
int app_cluster_genesis(const struct app_cluster *c, const char *dir,
                        const char *channel);

/** Start the Raft orderer of node @n (opened on @dir) with batching @oo,
 *  its peers reached over HTTP: *@peers and *@raft are the caller's, to
 *  ord_raft_stop() then gw_peers_free(). Loads DIR/keys/orderer.key.
 *  Prints the reason and returns non-zero on failure. */
int app_cluster_start(struct app_cluster *c, struct app_node *n,
                      const char *dir, const struct ord_options *oo,
                      struct gw_peers **peers, struct ord_raft **raft);

/** One HTTP request with libcurl: GET when @body is NULL, else POST
 *  @body with Content-Type @ctype. The status goes to *@status (0 when
 *  no answer came within @timeout_ms), the answer's body to @reply
 *  (reset first). Returns 0, or BASE_EIO when no answer came. */
int app_http(const char *url, const char *ctype, const void *body, size_t len,
             long timeout_ms, long *status, struct base_buf *reply);
/** app_http with one more request header line @header ("Name: value";
 *  NULL: none). */
int app_http_header(const char *url, const char *header, const char *ctype,
                    const void *body, size_t len, long timeout_ms, long *status,
                    struct base_buf *reply);

#endif
