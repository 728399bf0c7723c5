/* SPDX-License-Identifier: MIT */
/* gl-raft-node: one Raft orderer node in its own process, for the
 * process-level tests (kill -9 of the leader). Test-only: the node of
 * issue 6 is `gridledger node --cluster` (phase 2, with the gateway).
 *
 *   gl-raft-node DIR ID CLUSTER [--load]
 *
 * DIR holds a ledger with channel "energy" of the test consortium
 * (tests/lib/consortium.c) and gets DIR/raft. With --load, the node
 * submits signed asset.create transactions while it leads (there is no
 * forwarding between processes in phase 1) and appends the id of each
 * acknowledged one to DIR/acked with write(2), so a kill -9 loses none of
 * them; it stops loading once DIR/noload exists. Every 20 ms it writes
 * "role term height commit failed" to DIR/status. SIGTERM stops it
 * cleanly. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "consortium.h"
#include "order/order.h"

static atomic_bool stop;
static atomic_int outstanding;
static int acked_fd = -1;
static pthread_mutex_t acked_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_term(int sig)
{
    (void)sig;
    atomic_store(&stop, true);
}

static void on_done(void *arg, const struct ord_result *r)
{
    (void)arg;
    if (r->committed && r->code == 0) {
        char line[2 * CR_HASH_SIZE + 2];
        base_hex_encode(line, r->id.b, CR_HASH_SIZE);
        line[2 * CR_HASH_SIZE] = '\n';
        pthread_mutex_lock(&acked_lock);
        ssize_t w = write(acked_fd, line, sizeof line - 1);
        pthread_mutex_unlock(&acked_lock);
        (void)w;
    }
    atomic_fetch_sub(&outstanding, 1);
}

static void write_status(const char *dir, struct ord_raft *r)
{
    struct ord_raft_status st;
    ord_raft_status(r, &st);
    char path[PATH_MAX], tmp[PATH_MAX + 8], text[256];
    snprintf(path, sizeof path, "%s/status", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(text, sizeof text, "%d %llu %llu %llu %d\n", (int)st.role,
                     (unsigned long long)st.term, (unsigned long long)st.height,
                     (unsigned long long)st.commit_index, st.failed ? 1 : 0);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        ssize_t w = write(fd, text, (size_t)n);
        (void)w;
        close(fd);
        rename(tmp, path);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--load") != 0)) {
        fprintf(stderr, "usage: gl-raft-node DIR ID CLUSTER [--load]\n");
        return 2;
    }
    const char *dir = argv[1];
    bool load = argc == 5;
    uint64_t id;
    struct ord_member members[ORD_MAX_MEMBERS];
    size_t n;
    char err[BASE_ERRMSG_SIZE];
    if (base_parse_u64(argv[2], &id) != 0 ||
        ord_cluster_parse(argv[3], members, ORD_MAX_MEMBERS, &n, err) != 0) {
        fprintf(stderr, "gl-raft-node: bad id or cluster list: %s\n", err);
        return 2;
    }
    struct tc_consortium c;
    tc_init(&c, "energy");
    struct lg_ledger *l;
    if (lg_open(&l, dir, &c.exec, NULL, err) != 0) {
        fprintf(stderr, "gl-raft-node: %s\n", err);
        return 1;
    }
    char raft_dir[PATH_MAX], path[PATH_MAX], noload[PATH_MAX];
    snprintf(raft_dir, sizeof raft_dir, "%s/raft", dir);
    snprintf(noload, sizeof noload, "%s/noload", dir);
    snprintf(path, sizeof path, "%s/acked", dir);
    acked_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    struct ord_raft_options o;
    memset(&o, 0, sizeof o);
    o.order.verifiers = 1;
    o.drain_timeout = 1;
    struct ord_raft *r;
    if (acked_fd < 0 || ord_raft_start(&r, l, "energy", raft_dir, id, members,
                                       n, &c.orderer, &o, err) != 0) {
        fprintf(stderr, "gl-raft-node: %s\n", err);
        lg_close(l);
        return 1;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    struct base_buf tx;
    base_buf_init(&tx, 0);
    uint64_t next_status = 0;
    while (!atomic_load(&stop)) {
        uint64_t now = base_mono_ns();
        if (now >= next_status) {
            write_status(dir, r);
            next_status = now + 20000000;
        }
        struct ord_raft_status st;
        ord_raft_status(r, &st);
        if (load && access(noload, F_OK) == 0) {
            load = false;
        }
        if (!load || st.role != ORD_LEADER ||
            atomic_load(&outstanding) >= 200) {
            base_sleep_ns(1000000);
            continue;
        }
        uint64_t nonce;
        cr_random(&nonce, sizeof nonce);
        char key[32];
        snprintf(key, sizeof key, "p%llx", (unsigned long long)nonce);
        tc_tx(&tx, &c.dera, "energy", "asset", "create", nonce, 2, key, "1");
        atomic_fetch_add(&outstanding, 1);
        if (ord_raft_submit(r, tx.data, tx.len, on_done, NULL) != 0) {
            atomic_fetch_sub(&outstanding, 1);
            base_sleep_ns(1000000);
        }
    }
    ord_raft_stop(r);
    base_buf_release(&tx);
    close(acked_fd);
    lg_close(l);
    return 0;
}
