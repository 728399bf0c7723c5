/* SPDX-License-Identifier: MIT */
/* In-process Raft clusters on loopback for the order tests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "testlib.h"

static void new_node(struct tcl *t, size_t i, bool genesis)
{
    struct tcl_node *nd = &t->nodes[i];
    char tag[16];
    snprintf(tag, sizeof tag, "node%zu", i + 1);
    char dir[PATH_MAX];
    tl_tmpdir(dir, tag);
    memcpy(nd->dir, dir, sizeof dir);
    snprintf(nd->raft_dir, sizeof nd->raft_dir, "%s/raft", dir);
    t->members[i].id = i + 1;
    snprintf(t->members[i].address, sizeof t->members[i].address,
             "127.0.0.1:%u", (unsigned)tl_free_port());
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&nd->l, nd->dir, &t->c.exec, NULL, err), 0);
    if (genesis) {
        assert_int_equal(
            lg_channel_create(nd->l, &t->c.cfg, &t->c.orderer, err), 0);
    }
}

void tcl_init(struct tcl *t, size_t n, const struct ord_raft_options *opt)
{
    memset(t, 0, sizeof *t);
    tc_init(&t->c, "energy");
    assert_int_equal(ord_hub_new(&t->hub), 0);
    if (opt != NULL) {
        t->opt = *opt;
    }
    t->opt.peers = ord_hub_ops();
    t->opt.peers_impl = t->hub;
    t->opt.blocks = ord_hub_blocks();
    t->opt.blocks_impl = t->hub;
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        new_node(t, i, true);
    }
}

size_t tcl_add_empty(struct tcl *t)
{
    assert_true(t->n < TCL_MAX);
    size_t i = t->n++;
    new_node(t, i, false);
    return i;
}

int tcl_start(struct tcl *t, size_t i, bool join, char *errmsg)
{
    struct tcl_node *nd = &t->nodes[i];
    assert_null(nd->r);
    if (nd->l == NULL) {
        assert_int_equal(lg_open(&nd->l, nd->dir, &t->c.exec, NULL, errmsg), 0);
    }
    struct ord_raft_options o = t->opt;
    o.join = join;
    return ord_raft_start(&nd->r, nd->l, "energy", nd->raft_dir, i + 1,
                          t->members, t->n, &t->c.orderer, &o, errmsg);
}

void tcl_stop(struct tcl *t, size_t i, bool close_ledger)
{
    struct tcl_node *nd = &t->nodes[i];
    ord_raft_stop(nd->r);
    nd->r = NULL;
    if (close_ledger) {
        lg_close(nd->l);
        nd->l = NULL;
    }
}

size_t tcl_wait_leader(struct tcl *t, unsigned ms)
{
    uint64_t deadline = base_mono_ns() + (uint64_t)ms * 1000000u;
    while (base_mono_ns() < deadline) {
        for (size_t i = 0; i < t->n; i++) {
            if (t->nodes[i].r == NULL) {
                continue;
            }
            struct ord_raft_status st;
            ord_raft_status(t->nodes[i].r, &st);
            /* Ready once its anchor is applied: then last_applied has
             * caught up with the commit index in its own term. */
            if (st.role == ORD_LEADER && st.leader_id == i + 1 &&
                st.last_applied == st.commit_index && st.commit_index > 1) {
                return i;
            }
        }
        base_sleep_ns(5000000);
    }
    fail_msg("no leader within %u ms", ms);
    return 0;
}

uint64_t tcl_height(struct tcl *t, size_t i)
{
    struct lg_channel *ch;
    if (lg_channel_get(t->nodes[i].l, "energy", &ch) != 0) {
        return 0;
    }
    uint64_t h;
    lg_channel_tip(ch, &h, NULL, NULL);
    return h;
}

bool tcl_wait_height(struct tcl *t, size_t i, uint64_t height, unsigned ms)
{
    uint64_t deadline = base_mono_ns() + (uint64_t)ms * 1000000u;
    while (base_mono_ns() < deadline) {
        if (tcl_height(t, i) >= height) {
            return true;
        }
        base_sleep_ns(5000000);
    }
    return tcl_height(t, i) >= height;
}

void tcl_assert_same(struct tcl *t, size_t a, size_t b)
{
    struct lg_channel *ca, *cb;
    assert_int_equal(lg_channel_get(t->nodes[a].l, "energy", &ca), 0);
    assert_int_equal(lg_channel_get(t->nodes[b].l, "energy", &cb), 0);
    uint64_t ha, hb;
    struct cr_hash sa, sb;
    lg_channel_tip(ca, &ha, NULL, &sa);
    lg_channel_tip(cb, &hb, NULL, &sb);
    assert_int_equal(ha, hb);
    assert_memory_equal(sa.b, sb.b, CR_HASH_SIZE);
    for (uint64_t n = 0; n < ha; n++) {
        struct lg_header x, y;
        struct cr_hash hx, hy;
        assert_int_equal(lg_block_header(ca, n, &x, &hx), 0);
        assert_int_equal(lg_block_header(cb, n, &y, &hy), 0);
        assert_memory_equal(hx.b, hy.b, CR_HASH_SIZE);
        assert_memory_equal(x.state_hash.b, y.state_hash.b, CR_HASH_SIZE);
    }
}

void tcl_release(struct tcl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->nodes[i].r != NULL) {
            tcl_stop(t, i, false);
        }
        lg_close(t->nodes[i].l);
        t->nodes[i].l = NULL;
    }
    for (size_t i = 0; i < t->n; i++) {
        char scratch[PATH_MAX];
        tl_tmpdir(scratch, "verify");
        struct lg_verify_report rep;
        int rv = lg_verify(t->nodes[i].dir, scratch, &t->c.exec, &rep);
        if (rv != 0) {
            fprintf(stderr, "node %zu: verify: %s\n", i + 1, rep.error);
        }
        assert_int_equal(rv, 0);
        assert_true(rep.blocks >= 1);
        tl_rmrf(scratch);
        tl_rmrf(t->nodes[i].dir);
    }
    ord_hub_free(t->hub);
}

void tcl_tx(struct tcl *t, struct base_buf *out, uint64_t nonce,
            const char *key)
{
    tc_tx(out, nonce % 2 ? &t->c.dera : &t->c.dera2, "energy", "asset",
          "create", nonce, 2, key, "1");
}
