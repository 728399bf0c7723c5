/* SPDX-License-Identifier: MIT */
/* The Raft transport's handshake (issue 15, finding 1): its parsers and
 * signatures alone, then an in-process cluster over loopback attacked on
 * its Raft ports by raw sockets: garbage, oversized and truncated hellos,
 * a slow peer, a wrong key, a non-member, a replayed transcript, a flood
 * of idle connections, a member sending libraft a malformed message, and
 * a fake listener in the place of a member. The
 * cluster keeps committing throughout, and lg_verify passes on every
 * node's directory at the end. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "order/order_int.h"
#include "testlib.h"

#define HANDSHAKE_MS 700

/* ---- the messages alone ---------------------------------------------------
 */

static void test_hello_parse(void **state)
{
    (void)state;
    uint8_t nonce[ORD__AUTH_NONCE], m[ORD__AUTH_HELLO_MAX + 8];
    memset(nonce, 7, sizeof nonce);
    size_t n = ord__auth_hello_encode(m, 42, nonce, "127.0.0.1:7001");
    assert_int_equal(n, ORD__AUTH_HELLO_FIXED + 14);
    struct ord__auth_hello h;
    size_t need;
    const char *why = NULL;
    /* Byte by byte it asks for more, then for exactly the rest. */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(ord__auth_hello_parse(m, k, &h, &need, &why), 1);
        assert_int_equal(need, k < 8 ? 8 : n);
    }
    assert_int_equal(ord__auth_hello_parse(m, n, &h, &need, &why), 0);
    assert_int_equal(need, n);
    assert_int_equal(h.id, 42);
    assert_string_equal(h.address, "127.0.0.1:7001");
    assert_memory_equal(h.nonce, nonce, sizeof nonce);

    /* libraft's own handshake is refused at its first byte. */
    uint8_t raft[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ord__auth_hello_parse(raft, 1, &h, &need, &why),
                     BASE_EPARSE);
    assert_non_null(strstr(why, "not a gridledger hello"));
    /* A bad version, type, length; id 0; a control byte in the address. */
    struct {
        size_t off;
        uint8_t v;
        const char *what;
    } bad[] = {
        {4, 2, "version"},
        {5, 3, "type"},
        {6, 1, "oversized"},
        {7, 0, "empty"},
        {7, 64, "oversized"},
        {8 + 7, 0, "id 0"},
        {ORD__AUTH_HELLO_FIXED + 3, 0x0a, "non-print"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint8_t x[sizeof m];
        memcpy(x, m, sizeof m);
        if (bad[k].off == 8 + 7) {
            memset(x + 8, 0, 8);
        } else {
            x[bad[k].off] = bad[k].v;
        }
        why = "";
        int rv = ord__auth_hello_parse(x, n, &h, &need, &why);
        if (rv != BASE_EPARSE || strstr(why, bad[k].what) == NULL) {
            fail_msg("case %zu (%s): %d '%s'", k, bad[k].what, rv, why);
        }
        /* Never more than the longest hello is asked for. */
        assert_true(need <= ORD__AUTH_HELLO_MAX);
    }
}

static void test_signatures(void **state)
{
    (void)state;
    struct cr_keypair k, other;
    cr_keygen(&k);
    cr_keygen(&other);
    struct ord__auth_session s = {
        .channel = "energy", .cid = 2, .lid = 1, .caddr = "127.0.0.1:7002"};
    cr_random(s.cnonce, sizeof s.cnonce);
    cr_random(s.lnonce, sizeof s.lnonce);
    uint8_t sig[CR_SIG_SIZE];
    ord__auth_sign(sig, 'C', &s, &k);
    assert_int_equal(ord__auth_verify(sig, 'C', &s, k.pk), 0);
    /* Another key, the other direction (a reflected signature), another
     * nonce (a replay), another channel, another id, another address. */
    assert_int_equal(ord__auth_verify(sig, 'C', &s, other.pk), BASE_EBADSIG);
    assert_int_equal(ord__auth_verify(sig, 'L', &s, k.pk), BASE_EBADSIG);
    struct ord__auth_session x = s;
    x.lnonce[5] ^= 1;
    assert_int_equal(ord__auth_verify(sig, 'C', &x, k.pk), BASE_EBADSIG);
    x = s;
    x.channel = "energy2";
    assert_int_equal(ord__auth_verify(sig, 'C', &x, k.pk), BASE_EBADSIG);
    x = s;
    x.cid = 3;
    assert_int_equal(ord__auth_verify(sig, 'C', &x, k.pk), BASE_EBADSIG);
    x = s;
    x.caddr = "127.0.0.1:7003";
    assert_int_equal(ord__auth_verify(sig, 'C', &x, k.pk), BASE_EBADSIG);

    /* Challenge and response round trips; bad heads refused. */
    struct ord__auth_challenge ch = {.id = 1};
    memcpy(ch.nonce, s.lnonce, sizeof ch.nonce);
    memcpy(ch.sig, sig, sizeof sig);
    uint8_t m[ORD__AUTH_CHALLENGE_SIZE];
    ord__auth_challenge_encode(m, &ch);
    struct ord__auth_challenge back;
    const char *why;
    assert_int_equal(ord__auth_challenge_parse(m, &back, &why), 0);
    assert_memory_equal(&back, &ch, sizeof ch);
    m[5] = 3;
    assert_int_equal(ord__auth_challenge_parse(m, &back, &why), BASE_EPARSE);
    uint8_t r[ORD__AUTH_RESPONSE_SIZE], rs[CR_SIG_SIZE];
    ord__auth_response_encode(r, sig);
    assert_int_equal(ord__auth_response_parse(r, rs, &why), 0);
    assert_memory_equal(rs, sig, sizeof sig);
    r[0] = 'X';
    assert_int_equal(ord__auth_response_parse(r, rs, &why), BASE_EPARSE);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int k = 0; k < n; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

/* What an authenticated peer sends libraft, checked before libraft reads
 * it: every field libraft's decoder reads inside the header, bounded
 * allocations. */
static void test_frame_checks(void **state)
{
    (void)state;
    uint8_t pre[ORD__FRAME_PREAMBLE];
    uint64_t type, hlen, payload;
    const char *why;
    put_le(pre, 1, 8);
    put_le(pre + 8, 48 + 16, 8);
    assert_int_equal(ord__frame_preamble(pre, &type, &hlen, &why), 0);
    assert_int_equal(type, 1);
    assert_int_equal(hlen, 64);
    /* A 120 GB header, a zero one, an unknown type, a vote of 1 MiB. */
    put_le(pre + 8, UINT64_C(120) << 30, 8);
    assert_int_equal(ord__frame_preamble(pre, &type, &hlen, &why), BASE_EPARSE);
    put_le(pre + 8, 0, 8);
    assert_int_equal(ord__frame_preamble(pre, &type, &hlen, &why), BASE_EPARSE);
    put_le(pre, 7, 8);
    put_le(pre + 8, 32, 8);
    assert_int_equal(ord__frame_preamble(pre, &type, &hlen, &why), BASE_EPARSE);
    put_le(pre, 3, 8);
    put_le(pre + 8, 1u << 20, 8);
    assert_int_equal(ord__frame_preamble(pre, &type, &hlen, &why), BASE_EPARSE);

    /* AppendEntries: one entry of 24 bytes, in a header with room for
     * it (libraft 0.15 writes 8 unused bytes at the end). */
    uint8_t h[256];
    memset(h, 0, sizeof h);
    put_le(h, 5, 8);       /* term */
    put_le(h + 32, 1, 8);  /* entries */
    put_le(h + 40, 5, 8);  /* entry term */
    h[48] = 1;             /* RAFT_COMMAND */
    put_le(h + 52, 24, 4); /* its length */
    assert_int_equal(ord__frame_header(1, h, 64, &payload, &why), 0);
    assert_int_equal(payload, 24);
    /* The finding's header: 24 bytes, read as 40 and more. */
    assert_int_equal(ord__frame_header(1, h, 24, &payload, &why), BASE_EPARSE);
    assert_non_null(strstr(why, "too short"));
    /* An entry count beyond the header (libraft would allocate for it). */
    put_le(h + 32, UINT64_C(1) << 40, 8);
    assert_int_equal(ord__frame_header(1, h, 64, &payload, &why), BASE_EPARSE);
    assert_non_null(strstr(why, "beyond its header"));
    put_le(h + 32, 1, 8);
    /* Unaligned, of no type, too big in all. */
    put_le(h + 52, 23, 4);
    assert_int_equal(ord__frame_header(1, h, 64, &payload, &why), BASE_EPARSE);
    put_le(h + 52, 24, 4);
    h[48] = 9;
    assert_int_equal(ord__frame_header(1, h, 64, &payload, &why), BASE_EPARSE);
    h[48] = 1;
    put_le(h + 32, 12, 8);
    for (int i = 0; i < 12; i++) {
        h[48 + 16 * i] = 1;
        put_le(h + 52 + 16 * i, UINT64_C(0xfffffff8), 4);
    }
    assert_int_equal(ord__frame_header(1, h, 48 + 16 * 12, &payload, &why),
                     BASE_EPARSE);
    assert_non_null(strstr(why, "over the bound"));

    /* InstallSnapshot: the configuration inside the header, bounded data. */
    memset(h, 0, sizeof h);
    put_le(h + 32, 24, 8); /* configuration length */
    h[40] = 1;             /* its version */
    put_le(h + 41, 1, 8);  /* one server */
    put_le(h + 49, 2, 8);  /* id 2, address "a", role 1 */
    h[57] = 'a';
    h[59] = 1;
    put_le(h + 64, 4096, 8); /* data length */
    assert_int_equal(ord__frame_header(5, h, 80, &payload, &why), 0);
    assert_int_equal(payload, 4096);
    put_le(h + 32, 1000, 8);
    assert_int_equal(ord__frame_header(5, h, 80, &payload, &why), BASE_EPARSE);
    put_le(h + 32, 24, 8);
    put_le(h + 64, UINT64_C(120) << 30, 8);
    assert_int_equal(ord__frame_header(5, h, 80, &payload, &why), BASE_EPARSE);
    put_le(h + 64, 4096, 8);
    /* A configuration libraft would misread: empty (it asserts), a server
     * count beyond its bytes, an address with no end inside it. */
    put_le(h + 32, 0, 8);
    put_le(h + 40, 4096, 8);
    assert_int_equal(ord__frame_header(5, h, 56, &payload, &why), BASE_EPARSE);
    assert_non_null(strstr(why, "misread"));
    memset(h + 40, 0, 32);
    put_le(h + 32, 24, 8);
    h[40] = 1;
    put_le(h + 41, UINT64_C(1) << 40, 8);
    put_le(h + 64, 4096, 8);
    assert_int_equal(ord__frame_header(5, h, 80, &payload, &why), BASE_EPARSE);
    put_le(h + 41, 1, 8);
    memset(h + 49, 'x', 15);
    assert_int_equal(ord__frame_header(5, h, 80, &payload, &why), BASE_EPARSE);
    /* An empty configuration entry in AppendEntries (libraft asserts). */
    memset(h, 0, sizeof h);
    put_le(h + 32, 1, 8);
    h[48] = 3; /* RAFT_CHANGE, length 0 */
    assert_int_equal(ord__frame_header(1, h, 64, &payload, &why), BASE_EPARSE);
    assert_non_null(strstr(why, "empty"));
    memset(h, 0, sizeof h);
    /* Fixed headers: as long as libraft reads. */
    assert_int_equal(ord__frame_header(3, h, 40, &payload, &why), 0);
    assert_int_equal(ord__frame_header(3, h, 32, &payload, &why), 0);
    assert_int_equal(ord__frame_header(3, h, 36, &payload, &why), BASE_EPARSE);
    assert_int_equal(ord__frame_header(4, h, 20, &payload, &why), BASE_EPARSE);
    assert_int_equal(ord__frame_header(2, h, 16, &payload, &why), BASE_EPARSE);
    assert_int_equal(ord__frame_header(6, h, 24, &payload, &why), 0);
    assert_int_equal(payload, 0);
}

/* ---- raw sockets ----------------------------------------------------------
 */

static int port_of(const struct ord_member *m)
{
    const char *colon = strrchr(m->address, ':');
    return atoi(colon + 1);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read exactly @n bytes within @ms; false if the peer closed first. */
static bool read_exact(int fd, void *p, size_t n, int ms)
{
    size_t have = 0;
    while (have < n) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) != 1) {
            return false;
        }
        ssize_t k = recv(fd, (uint8_t *)p + have, n - have, 0);
        if (k <= 0) {
            return false;
        }
        have += (size_t)k;
    }
    return true;
}

/* True if the peer closes the connection within @ms without sending. */
static bool closed_within(int fd, int ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, ms) != 1) {
        return false;
    }
    uint8_t b[16];
    return recv(fd, b, sizeof b, 0) <= 0;
}

static uint64_t refused(struct tcl *t, size_t i, enum ord__refusal why)
{
    struct ord__transport_stats st;
    ord__raft_transport_stats(t->nodes[i].r, &st);
    return st.refused[why];
}

/* A connector's side of the handshake with node @i as node @id signing
 * with @key: sends the hello, reads and checks the challenge, answers.
 * The hello and response sent go to @hello / @resp when not NULL.
 * Returns the socket. */
struct sent {
    uint8_t hello[ORD__AUTH_HELLO_MAX];
    size_t hello_len;
    uint8_t resp[ORD__AUTH_RESPONSE_SIZE];
    uint8_t lnonce[ORD__AUTH_NONCE];
};

static int handshake(struct tcl *t, size_t i, uint64_t id,
                     const struct cr_keypair *key, struct sent *out)
{
    int fd = dial(port_of(&t->members[i]));
    struct ord__auth_session s = {
        .channel = "energy", .cid = id, .lid = i + 1, .caddr = "127.0.0.1:9"};
    cr_random(s.cnonce, sizeof s.cnonce);
    out->hello_len = ord__auth_hello_encode(out->hello, id, s.cnonce, s.caddr);
    send_all(fd, out->hello, out->hello_len);
    uint8_t m[ORD__AUTH_CHALLENGE_SIZE];
    assert_true(read_exact(fd, m, sizeof m, 5000));
    struct ord__auth_challenge ch;
    const char *why;
    assert_int_equal(ord__auth_challenge_parse(m, &ch, &why), 0);
    assert_int_equal(ch.id, i + 1);
    memcpy(s.lnonce, ch.nonce, sizeof s.lnonce);
    memcpy(out->lnonce, ch.nonce, sizeof out->lnonce);
    /* The node signs with the orderer key. */
    assert_int_equal(ord__auth_verify(ch.sig, 'L', &s, t->c.orderer.pk), 0);
    uint8_t sig[CR_SIG_SIZE];
    ord__auth_sign(sig, 'C', &s, key);
    ord__auth_response_encode(out->resp, sig);
    send_all(fd, out->resp, sizeof out->resp);
    return fd;
}

static struct ord_raft_options opts(void)
{
    struct ord_raft_options o;
    memset(&o, 0, sizeof o);
    o.order.verifiers = 1;
    o.drain_timeout = 2000000000ull;
    o.election_timeout_ms = 1000;
    o.handshake_timeout_ms = HANDSHAKE_MS;
    return o;
}

static void commit_some(struct tcl *t, const char *prefix, uint64_t nonce0,
                        size_t nodes)
{
    struct base_buf tx;
    base_buf_init(&tx, 0);
    for (int k = 0; k < 6; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, k);
        tcl_tx(t, &tx, nonce0 + (uint64_t)k, key);
        struct ord_result r;
        size_t i = (size_t)k % nodes;
        int rv = ord_raft_submit_wait(t->nodes[i].r, tx.data, tx.len, &r);
        if (rv != 0 || !r.committed || r.code != 0) {
            fail_msg("tx %s on node %zu: %s (%s)", key, i + 1, base_errname(rv),
                     r.reason);
        }
    }
    base_buf_release(&tx);
}

static void test_outsiders(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = opts();
    tcl_init(&t, 3, &o);
    char err[BASE_ERRMSG_SIZE];
    for (size_t i = 0; i < 3; i++) {
        if (tcl_start(&t, i, false, err) != 0) {
            fail_msg("start node %zu: %s", i + 1, err);
        }
    }
    tcl_wait_leader(&t, 10000);
    commit_some(&t, "a", 1, 3);
    int port = port_of(&t.members[0]);

    /* Garbage: refused at once. */
    int fd = dial(port);
    send_all(fd, "GET / HTTP/1.1\r\n\r\n", 18);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_HELLO), 1);

    /* An oversized hello: refused on its length, before the rest. */
    uint8_t nonce[ORD__AUTH_NONCE] = {0};
    uint8_t h[ORD__AUTH_HELLO_MAX];
    size_t hn = ord__auth_hello_encode(h, 2, nonce, "127.0.0.1:9");
    h[6] = 0xff;
    h[7] = 0xff;
    fd = dial(port);
    send_all(fd, h, 8);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_HELLO), 2);

    /* A truncated hello: the peer goes away half way. */
    hn = ord__auth_hello_encode(h, 2, nonce, "127.0.0.1:9");
    fd = dial(port);
    send_all(fd, h, hn - 3);
    shutdown(fd, SHUT_WR);
    assert_true(closed_within(fd, 2000));
    close(fd);

    /* A slow peer: a valid start, then nothing; dropped at the deadline,
     * not before. */
    fd = dial(port);
    uint64_t t0 = base_mono_ns();
    send_all(fd, h, 20);
    assert_false(closed_within(fd, HANDSHAKE_MS / 2));
    assert_true(closed_within(fd, 3 * HANDSHAKE_MS));
    uint64_t ms = (base_mono_ns() - t0) / 1000000u;
    close(fd);
    assert_true(ms >= HANDSHAKE_MS - 50);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_TIMEOUT), 1);
    /* Truncation is counted once the node notices the close. */
    assert_int_equal(refused(&t, 0, ORD__REFUSE_TRUNCATED), 1);

    /* A wrong key: the node answers the hello, not the response. */
    struct cr_keypair wrong;
    cr_keygen(&wrong);
    struct sent sent;
    fd = handshake(&t, 0, 2, &wrong, &sent);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_SIG), 1);

    /* A non-member, even with the key: refused after its hello. */
    hn = ord__auth_hello_encode(h, 9, nonce, "127.0.0.1:9");
    fd = dial(port);
    send_all(fd, h, hn);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_MEMBER), 1);

    /* The right key: the connection is libraft's and stays open. */
    struct ord__transport_stats st0, st1;
    ord__raft_transport_stats(t.nodes[0].r, &st0);
    fd = handshake(&t, 0, 2, &t.c.orderer, &sent);
    assert_false(closed_within(fd, 300));
    ord__raft_transport_stats(t.nodes[0].r, &st1);
    assert_int_equal(st1.accepted, st0.accepted + 1);
    close(fd);

    /* Replayed: the same hello and response on a new connection. The
     * node's nonce is new, so the old signature does not verify. */
    fd = dial(port);
    send_all(fd, sent.hello, sent.hello_len);
    uint8_t m[ORD__AUTH_CHALLENGE_SIZE];
    assert_true(read_exact(fd, m, sizeof m, 2000));
    struct ord__auth_challenge ch;
    const char *why;
    assert_int_equal(ord__auth_challenge_parse(m, &ch, &why), 0);
    assert_memory_not_equal(ch.nonce, sent.lnonce, ORD__AUTH_NONCE);
    send_all(fd, sent.resp, sizeof sent.resp);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_SIG), 2);

    /* A flood of idle connections from one address: beyond 8 refused at
     * once; the 8 dropped at the deadline. */
    int idle[12];
    for (size_t k = 0; k < 12; k++) {
        idle[k] = dial(port);
    }
    for (size_t k = 8; k < 12; k++) {
        assert_true(closed_within(idle[k], 2000));
    }
    assert_int_equal(refused(&t, 0, ORD__REFUSE_FULL), 4);
    for (size_t k = 0; k < 8; k++) {
        assert_true(closed_within(idle[k], 3 * HANDSHAKE_MS));
        close(idle[k]);
    }
    for (size_t k = 8; k < 12; k++) {
        close(idle[k]);
    }

    /* A member (it holds the key) that sends libraft the finding's
     * message: the relay drops it before libraft reads the header. */
    fd = handshake(&t, 0, 2, &t.c.orderer, &sent);
    uint8_t killer[40];
    memset(killer, 0, sizeof killer);
    put_le(killer, 1, 8);      /* AppendEntries */
    put_le(killer + 8, 24, 8); /* a header too short for it */
    put_le(killer + 16, 1, 8);
    send_all(fd, killer, sizeof killer);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_FRAME), 1);
    fd = handshake(&t, 0, 2, &t.c.orderer, &sent);
    put_le(killer + 8, UINT64_C(120) << 30, 8); /* a 120 GB header */
    send_all(fd, killer, 16);
    assert_true(closed_within(fd, 2000));
    close(fd);
    assert_int_equal(refused(&t, 0, ORD__REFUSE_FRAME), 2);

    /* Through all of it, no node lost its peers: the cluster commits,
     * through node 1 too. */
    commit_some(&t, "b", 100, 3);
    uint64_t hgt = 0;
    for (size_t i = 0; i < 3; i++) {
        uint64_t x = tcl_height(&t, i);
        hgt = x > hgt ? x : hgt;
    }
    for (size_t i = 0; i < 3; i++) {
        assert_true(tcl_wait_height(&t, i, hgt, 20000));
    }
    tcl_assert_same(&t, 0, 1);
    tcl_assert_same(&t, 0, 2);
    /* Every node's peers reached libraft through the relay, and no
     * member's message was refused. */
    for (size_t i = 0; i < 3; i++) {
        struct ord__transport_stats st;
        ord__raft_transport_stats(t.nodes[i].r, &st);
        assert_true(st.relayed > 0);
        assert_true(st.accepted >= 1);
        assert_int_equal(st.refused[ORD__REFUSE_FRAME], i == 0 ? 2 : 0);
    }
    tcl_release(&t);
}

/* Node 3's address is ours: the others dial it, and check what answers. */
static void test_fake_listener(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = opts();
    tcl_init(&t, 3, &o);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port_of(&t.members[2]));
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 16), 0);
    char err[BASE_ERRMSG_SIZE];
    for (size_t i = 0; i < 2; i++) {
        if (tcl_start(&t, i, false, err) != 0) {
            fail_msg("start node %zu: %s", i + 1, err);
        }
    }
    tcl_wait_leader(&t, 10000);
    struct cr_keypair wrong;
    cr_keygen(&wrong);
    /* Three answers: a wrong key, the right key claiming another id, the
     * right key as node 3. */
    int stale = 0;
    for (int round = 0; round < 3; round++) {
        struct pollfd pf = {lfd, POLLIN, 0};
        assert_int_equal(poll(&pf, 1, 10000), 1);
        int fd = accept(lfd, NULL, NULL);
        assert_true(fd >= 0);
        uint8_t in[ORD__AUTH_HELLO_MAX];
        struct ord__auth_hello h;
        size_t need = 8, have = 0;
        const char *why;
        int rv;
        while ((rv = ord__auth_hello_parse(in, have, &h, &need, &why)) == 1) {
            assert_true(read_exact(fd, in + have, need - have, 5000));
            have = need;
        }
        assert_int_equal(rv, 0);
        /* A connection the node dialled during the election and gave up
         * on (it sends nothing after its hello): skip it. */
        struct pollfd rf = {fd, POLLIN, 0};
        if (poll(&rf, 1, 0) == 1) {
            close(fd);
            assert_true(++stale < 50);
            round--;
            continue;
        }
        /* The connector is a member and says where it listens. */
        assert_true(h.id == 1 || h.id == 2);
        assert_string_equal(h.address, t.members[h.id - 1].address);
        struct ord__auth_session s = {
            .channel = "energy", .cid = h.id, .lid = 3, .caddr = h.address};
        memcpy(s.cnonce, h.nonce, sizeof s.cnonce);
        cr_random(s.lnonce, sizeof s.lnonce);
        struct ord__auth_challenge ch = {.id = round == 1 ? 1 : 3};
        memcpy(ch.nonce, s.lnonce, sizeof ch.nonce);
        if (round == 1) {
            s.lid = 1;
        }
        ord__auth_sign(ch.sig, 'L', &s, round == 0 ? &wrong : &t.c.orderer);
        uint8_t m[ORD__AUTH_CHALLENGE_SIZE];
        ord__auth_challenge_encode(m, &ch);
        send_all(fd, m, sizeof m);
        if (round < 2) {
            /* The connector hangs up without a response. */
            assert_true(closed_within(fd, 2000));
        } else {
            uint8_t r[ORD__AUTH_RESPONSE_SIZE], sig[CR_SIG_SIZE];
            assert_true(read_exact(fd, r, sizeof r, 2000));
            assert_int_equal(ord__auth_response_parse(r, sig, &why), 0);
            assert_int_equal(ord__auth_verify(sig, 'C', &s, t.c.orderer.pk), 0);
            /* Then libraft's own messages follow (a heartbeat). */
            uint8_t pre[16];
            assert_true(read_exact(fd, pre, sizeof pre, 5000));
        }
        close(fd);
    }
    uint64_t peer = 0;
    for (size_t i = 0; i < 2; i++) {
        peer += refused(&t, i, ORD__REFUSE_PEER);
    }
    assert_true(peer >= 2);
    close(lfd);
    commit_some(&t, "c", 1, 2);
    tcl_release(&t);
}

int main(void)
{
    if (cr_init() != 0) {
        return 1;
    }
    if (getenv("GL_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("GL_TEST_FILTER"));
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_parse),   cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_frame_checks),  cmocka_unit_test(test_outsiders),
        cmocka_unit_test(test_fake_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
