/* SPDX-License-Identifier: MIT */
/* A cluster of in-process Raft nodes over real TCP on loopback, for the
 * order tests: each node has its own ledger directory, Raft directory and
 * free port; they share one ord_hub for forwarding. */
#ifndef GL_TEST_CLUSTER_H
#define GL_TEST_CLUSTER_H

#include <limits.h>

#include "consortium.h"
#include "order/order.h"

#define TCL_MAX 5

struct tcl_node {
    char dir[PATH_MAX];      /* the ledger */
    char raft_dir[PATH_MAX]; /* DIR/raft */
    struct lg_ledger *l;
    struct ord_raft *r;
};

struct tcl {
    struct tc_consortium c;
    struct ord_hub *hub;
    size_t n;
    struct ord_member members[TCL_MAX];
    struct tcl_node nodes[TCL_MAX];
    struct ord_raft_options opt;
};

/** @n nodes (ids 1..n) with ledgers holding channel "energy" (the same
 *  genesis on each), not started. @opt (copied) is used for every start;
 *  the hub is filled in. */
void tcl_init(struct tcl *t, size_t n, const struct ord_raft_options *opt);
/** Add node n+1 with an empty ledger directory (to join). */
size_t tcl_add_empty(struct tcl *t);
/** Start node @i over its ledger (opened if closed); returns the code. */
int tcl_start(struct tcl *t, size_t i, bool join, char *errmsg);
/** Stop node @i's orderer; also close its ledger when @close_ledger. */
void tcl_stop(struct tcl *t, size_t i, bool close_ledger);
/** Index of the leader once one of the running nodes leads and is ready
 *  to order (asserts it happens within @ms). */
size_t tcl_wait_leader(struct tcl *t, unsigned ms);
/** Wait until running node @i's ledger reaches @height (false on
 *  timeout). */
bool tcl_wait_height(struct tcl *t, size_t i, uint64_t height, unsigned ms);
/** Height of node @i's ledger (opened). */
uint64_t tcl_height(struct tcl *t, size_t i);
/** Assert that nodes @a and @b hold the same blocks and state hashes. */
void tcl_assert_same(struct tcl *t, size_t a, size_t b);
/** Stop every node, close every ledger, run lg_verify on each directory
 *  (asserting it passes), and free everything. */
void tcl_release(struct tcl *t);
/** Build a signed asset.create of key @key into @out. */
void tcl_tx(struct tcl *t, struct base_buf *out, uint64_t nonce,
            const char *key);

#endif
