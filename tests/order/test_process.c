/* SPDX-License-Identifier: MIT */
/* Three Raft nodes in three processes (tests/order/driver/raft_node.c) on
 * loopback: the leader is killed with SIGKILL under load; a new leader
 * takes over, no acknowledged transaction is lost, the killed node
 * restarts from what it had on disk and catches up, and the three ledgers
 * end identical and verify. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "testlib.h"

extern char **environ;

struct proc {
    char dir[PATH_MAX];
    pid_t pid;
};

static const char *node_binary(void)
{
    const char *b = getenv("GL_RAFT_NODE");
    return b != NULL ? b : "./gl-raft-node";
}

static pid_t spawn(struct proc *p, uint64_t id, const char *cluster)
{
    char sid[24], log[PATH_MAX + 8];
    snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
    snprintf(log, sizeof log, "%s/log", p->dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    char *argv[] = {(char *)node_binary(), p->dir,   sid,
                    (char *)cluster,       "--load", NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, node_binary(), &fa, NULL, argv, environ),
                     0);
    posix_spawn_file_actions_destroy(&fa);
    p->pid = pid;
    return pid;
}

/* role term height commit failed, as the driver writes them. */
struct status {
    int role;
    unsigned long long term, height, commit;
    int failed;
};

static bool read_status(const struct proc *p, struct status *st)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/status", p->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    int n = fscanf(f, "%d %llu %llu %llu %d", &st->role, &st->term, &st->height,
                   &st->commit, &st->failed);
    fclose(f);
    return n == 5;
}

static size_t count_acked(const struct proc *p)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/acked", p->dir);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int ch;
    while (f != NULL && (ch = fgetc(f)) != EOF) {
        n += ch == '\n';
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

/* The process that says it leads, other than @not (or -1). */
static int wait_leader(struct proc *p, int not, unsigned ms)
{
    uint64_t end = base_mono_ns() + (uint64_t)ms * 1000000u;
    while (base_mono_ns() < end) {
        for (int i = 0; i < 3; i++) {
            struct status st;
            if (i != not &&read_status(&p[i], &st) && st.role == ORD_LEADER) {
                return i;
            }
        }
        base_sleep_ns(5000000);
    }
    fail_msg("no leader within %u ms", ms);
    return -1;
}

static size_t total_acked(struct proc *p)
{
    return count_acked(&p[0]) + count_acked(&p[1]) + count_acked(&p[2]);
}

/* Wait until the nodes together acknowledged @n (whoever leads). */
static void wait_acked(struct proc *p, size_t n, unsigned ms)
{
    uint64_t end = base_mono_ns() + (uint64_t)ms * 1000000u;
    while (total_acked(p) < n && base_mono_ns() < end) {
        base_sleep_ns(10000000);
    }
    assert_true(total_acked(p) >= n);
}

static void check_acked(struct lg_channel *ch, const struct proc *p,
                        size_t *total)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/acked", p->dir);
    FILE *f = fopen(path, "r");
    char line[128];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        struct cr_hash id;
        assert_int_equal(base_hex_decode(id.b, CR_HASH_SIZE, line), 0);
        struct lg_tx_info info;
        if (lg_tx_find(ch, &id, &info) != 0 || info.code != 0) {
            fail_msg("acknowledged transaction %s is missing", line);
        }
        (*total)++;
    }
    if (f != NULL) {
        fclose(f);
    }
}

static void test_kill_leader(void **state)
{
    (void)state;
    struct tc_consortium c;
    tc_init(&c, "energy");
    struct proc p[3];
    char cluster[512] = "", err[BASE_ERRMSG_SIZE];
    for (int i = 0; i < 3; i++) {
        tl_tmpdir(p[i].dir, "proc");
        struct lg_ledger *l;
        assert_int_equal(lg_open(&l, p[i].dir, &c.exec, NULL, err), 0);
        assert_int_equal(lg_channel_create(l, &c.cfg, &c.orderer, err), 0);
        lg_close(l);
        size_t len = strlen(cluster);
        snprintf(cluster + len, sizeof cluster - len, "%s%d@127.0.0.1:%u",
                 i ? "," : "", i + 1, tcl_free_port());
    }
    for (int i = 0; i < 3; i++) {
        spawn(&p[i], (uint64_t)i + 1, cluster);
    }
    wait_leader(p, -1, 15000);
    wait_acked(p, 300, 30000);
    int leader = wait_leader(p, -1, 15000);
    size_t before = total_acked(p);
    /* kill -9 under load: no stop, no flush. */
    uint64_t t0 = base_mono_ns();
    assert_int_equal(kill(p[leader].pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(p[leader].pid, &st, 0), p[leader].pid);
    int next = wait_leader(p, leader, 15000);
    fprintf(stderr, "node %d killed; node %d leads after %.0f ms\n", leader + 1,
            next + 1, (double)(base_mono_ns() - t0) / 1e6);
    wait_acked(p, before + 300, 30000);
    /* The killed node restarts from its disk and catches up. */
    spawn(&p[leader], (uint64_t)leader + 1, cluster);
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/noload", p[i].dir);
        int fd = open(path, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    uint64_t end = base_mono_ns() + 30000000000ull;
    bool same = false;
    while (!same && base_mono_ns() < end) {
        base_sleep_ns(50000000);
        struct status s[3];
        same = true;
        for (int i = 0; i < 3; i++) {
            same = same && read_status(&p[i], &s[i]) && !s[i].failed &&
                   s[i].height == s[0].height;
        }
    }
    assert_true(same);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kill(p[i].pid, SIGTERM), 0);
        assert_int_equal(waitpid(p[i].pid, &st, 0), p[i].pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    /* Every acknowledged transaction, from either leader, is in every
     * ledger; the three chains are the same; each verifies. */
    struct lg_ledger *l[3];
    struct lg_channel *ch[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lg_open(&l[i], p[i].dir, &c.exec, NULL, err), 0);
        assert_int_equal(lg_channel_get(l[i], "energy", &ch[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        size_t total = 0;
        for (int k = 0; k < 3; k++) {
            check_acked(ch[i], &p[k], &total);
        }
        assert_true(total >= 600);
    }
    uint64_t h[3];
    struct cr_hash s[3];
    for (int i = 0; i < 3; i++) {
        lg_channel_tip(ch[i], &h[i], NULL, &s[i]);
    }
    assert_int_equal(h[0], h[1]);
    assert_int_equal(h[0], h[2]);
    assert_memory_equal(s[0].b, s[1].b, CR_HASH_SIZE);
    assert_memory_equal(s[0].b, s[2].b, CR_HASH_SIZE);
    for (int i = 0; i < 3; i++) {
        lg_close(l[i]);
        char scratch[PATH_MAX];
        tl_tmpdir(scratch, "verify");
        struct lg_verify_report rep;
        int rv = lg_verify(p[i].dir, scratch, &c.exec, &rep);
        if (rv != 0) {
            fprintf(stderr, "node %d: %s\n", i + 1, rep.error);
        }
        assert_int_equal(rv, 0);
        tl_rmrf(scratch);
        tl_rmrf(p[i].dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
