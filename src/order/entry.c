/* SPDX-License-Identifier: MIT */
/* The Raft log entries and snapshots of a cluster, blocks between nodes,
 * the id set, and the mapping between RAFT_* and BASE_E* codes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"

/* ---- id set ------------------------------------------------------------ */

int ord__idset_init(struct ord__idset *s, size_t max)
{
    s->cap = 2 * max + 1;
    s->slots = base_malloc(s->cap * sizeof *s->slots);
    s->used = base_calloc(s->cap, sizeof *s->used);
    if (s->slots == NULL || s->used == NULL) {
        ord__idset_release(s);
        return BASE_ENOMEM;
    }
    return 0;
}

void ord__idset_release(struct ord__idset *s)
{
    base_free(s->slots);
    base_free(s->used);
    s->slots = NULL;
    s->used = NULL;
    s->cap = 0;
}

static size_t slot_of(const struct ord__idset *s, const struct cr_hash *h)
{
    return (size_t)(base_get_u64(h->b) % s->cap);
}

static size_t find(const struct ord__idset *s, const struct cr_hash *h)
{
    size_t i = slot_of(s, h);
    while (s->used[i] && memcmp(s->slots[i].b, h->b, CR_HASH_SIZE) != 0) {
        i = (i + 1) % s->cap;
    }
    return i;
}

bool ord__idset_add(struct ord__idset *s, const struct cr_hash *h)
{
    size_t i = find(s, h);
    if (s->used[i]) {
        return false;
    }
    s->used[i] = true;
    s->slots[i] = *h;
    return true;
}

bool ord__idset_has(const struct ord__idset *s, const struct cr_hash *h)
{
    return s->used[find(s, h)];
}

void ord__idset_del(struct ord__idset *s, const struct cr_hash *h)
{
    size_t i = find(s, h);
    if (!s->used[i]) {
        return;
    }
    s->used[i] = false;
    size_t j = i;
    for (;;) {
        j = (j + 1) % s->cap;
        if (!s->used[j]) {
            break;
        }
        size_t k = slot_of(s, &s->slots[j]);
        /* Move j back to i unless its home k lies in (i, j]. */
        bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!between) {
            s->slots[i] = s->slots[j];
            s->used[i] = true;
            s->used[j] = false;
            i = j;
        }
    }
}

/* ---- log entries -------------------------------------------------------- */

struct ord__item *ord__item_new(const struct cr_hash *id, uint64_t origin,
                                const void *tx, size_t len)
{
    struct ord__item *it = base_malloc(sizeof *it + len);
    if (it == NULL) {
        return NULL;
    }
    it->next = NULL;
    it->id = *id;
    it->origin = origin;
    it->arrived = base_mono_ns();
    it->len = len;
    memcpy(it->bytes, tx, len);
    return it;
}

/* libraft's disk log (uv_segment.c) needs every entry to be a multiple of
 * 8 bytes long: a closed segment holding other lengths fails to load after
 * a restart (canonical/raft issues 189 and 304). So each entry ends with
 * 0..7 zero bytes whose count is in the header. */
static uint8_t *entry_alloc(struct raft_buffer *out, unsigned kind,
                            uint64_t proposer, uint64_t term, size_t payload)
{
    if (payload > ((size_t)1 << 30)) {
        return NULL;
    }
    size_t len = ORD__ENTRY_HEADER + payload;
    size_t pad = (8 - len % 8) % 8;
    uint8_t *p = raft_malloc(len + pad);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, "GLRE", 4);
    p[4] = 1;
    p[5] = (uint8_t)kind;
    p[6] = (uint8_t)pad;
    p[7] = 0;
    base_put_u64(p + 8, proposer);
    base_put_u64(p + 16, term);
    memset(p + len, 0, pad);
    out->base = p;
    out->len = len + pad;
    return p + ORD__ENTRY_HEADER;
}

int ord__entry_block(struct raft_buffer *out, uint64_t proposer, uint64_t term,
                     const void *block, size_t len)
{
    uint8_t *p = entry_alloc(out, ORD__ENTRY_BLOCK, proposer, term, len);
    if (p == NULL) {
        return len > ((size_t)1 << 30) ? BASE_ETOOBIG : BASE_ENOMEM;
    }
    memcpy(p, block, len);
    return 0;
}

int ord__entry_anchor(struct raft_buffer *out, uint64_t proposer, uint64_t term,
                      const char *channel, const void *genesis, size_t len)
{
    size_t cl = strlen(channel);
    if (cl == 0 || cl > LG_NAME_MAX || len > UINT32_MAX) {
        return BASE_EINVAL;
    }
    uint8_t *p =
        entry_alloc(out, ORD__ENTRY_ANCHOR, proposer, term, 1 + cl + 4 + len);
    if (p == NULL) {
        return BASE_ENOMEM;
    }
    p[0] = (uint8_t)cl;
    memcpy(p + 1, channel, cl);
    base_put_u32(p + 1 + cl, (uint32_t)len);
    memcpy(p + 5 + cl, genesis, len);
    return 0;
}

int ord__entry_decode(struct ord__entry *e, const void *p, size_t len)
{
    memset(e, 0, sizeof *e);
    const uint8_t *b = p;
    if (len < ORD__ENTRY_HEADER || len % 8 != 0 || memcmp(b, "GLRE", 4) != 0 ||
        b[4] != 1 || b[6] > 7 || b[7] != 0 || len - ORD__ENTRY_HEADER < b[6]) {
        return BASE_EPARSE;
    }
    size_t pad = b[6];
    for (size_t i = len - pad; i < len; i++) {
        if (b[i] != 0) {
            return BASE_EPARSE;
        }
    }
    e->kind = b[5];
    e->proposer = base_get_u64(b + 8);
    e->term = base_get_u64(b + 16);
    struct base_rd r;
    base_rd_init(&r, b + ORD__ENTRY_HEADER, len - ORD__ENTRY_HEADER - pad);
    if (e->kind == ORD__ENTRY_BLOCK) {
        e->block.len = base_rd_left(&r);
        e->block.p = base_rd_bytes(&r, e->block.len);
        return e->block.len > 0 ? 0 : BASE_EPARSE;
    }
    if (e->kind != ORD__ENTRY_ANCHOR) {
        return BASE_EPARSE;
    }
    uint8_t cl = base_rd_u8(&r);
    const uint8_t *name = base_rd_bytes(&r, cl);
    uint32_t gl = base_rd_u32(&r);
    e->genesis.p = base_rd_bytes(&r, gl);
    e->genesis.len = gl;
    if (base_rd_error(&r) != 0 || base_rd_left(&r) != 0 || cl == 0 ||
        cl > LG_NAME_MAX || gl == 0) {
        return BASE_EPARSE;
    }
    memcpy(e->channel, name, cl);
    e->channel[cl] = '\0';
    return 0;
}

/* ---- snapshots ---------------------------------------------------------- */

int ord__snapshot_take(struct lg_channel *ch, uint64_t height,
                       struct base_buf *out)
{
    struct lg_header last;
    struct cr_hash tip;
    int trv =
        height > 0 ? lg_block_header(ch, height - 1, &last, &tip) : BASE_EINVAL;
    if (trv != 0) {
        return trv == BASE_ENOTFOUND ? BASE_ECORRUPT : trv;
    }
    const char *name = lg_channel_name(ch);
    size_t cl = strlen(name);
    int rv = base_buf_add(out, "GLRS\x02", 5);
    if (rv == 0) {
        rv = base_buf_add_u8(out, (uint8_t)cl);
    }
    if (rv == 0) {
        rv = base_buf_add(out, name, cl);
    }
    if (rv == 0) {
        rv = base_buf_add_u64(out, height);
    }
    if (rv == 0) {
        rv = base_buf_add(out, tip.b, CR_HASH_SIZE);
    }
    if (rv == 0) {
        rv = base_buf_add(out, last.state_hash.b, CR_HASH_SIZE);
    }
    /* The genesis block, so that a node without the channel can join it:
     * reserve its length, append it, then fill the length in. */
    size_t at = out->len;
    if (rv == 0) {
        rv = base_buf_add_u32(out, 0);
    }
    if (rv == 0) {
        rv = lg_block_get(ch, 0, out);
        if (rv == BASE_ENOTFOUND) {
            rv = BASE_ECORRUPT;
        }
    }
    if (rv == 0) {
        base_put_u32(out->data + at, (uint32_t)(out->len - at - 4));
    }
    return rv;
}

int ord__snapshot_parse(struct ord__snapshot *s, const void *p, size_t len)
{
    memset(s, 0, sizeof *s);
    struct base_rd r;
    base_rd_init(&r, p, len);
    const uint8_t *magic = base_rd_bytes(&r, 5);
    uint8_t cl = base_rd_u8(&r);
    const uint8_t *name = base_rd_bytes(&r, cl);
    s->height = base_rd_u64(&r);
    const uint8_t *tip = base_rd_bytes(&r, CR_HASH_SIZE);
    const uint8_t *state = base_rd_bytes(&r, CR_HASH_SIZE);
    if (base_rd_error(&r) != 0 || memcmp(magic, "GLRS", 4) != 0 ||
        (magic[4] != 1 && magic[4] != 2) || cl == 0 || cl > LG_NAME_MAX ||
        s->height == 0) {
        return BASE_EPARSE;
    }
    s->version = magic[4];
    memcpy(s->channel, name, cl);
    s->channel[cl] = '\0';
    memcpy(s->tip.b, tip, CR_HASH_SIZE);
    memcpy(s->state.b, state, CR_HASH_SIZE);
    if (s->version == 1) {
        base_rd_init(&s->blocks, r.p + r.off, base_rd_left(&r));
        s->genesis = ord__snapshot_next(s);
        return s->genesis.p != NULL ? 0 : BASE_EPARSE;
    }
    uint32_t gl = base_rd_u32(&r);
    s->genesis.p = base_rd_bytes(&r, gl);
    s->genesis.len = gl;
    if (base_rd_error(&r) != 0 || base_rd_left(&r) != 0 || gl == 0) {
        return BASE_EPARSE;
    }
    return 0;
}

struct lg_slice ord__snapshot_next(struct ord__snapshot *s)
{
    uint32_t n = base_rd_u32(&s->blocks);
    const uint8_t *p = base_rd_bytes(&s->blocks, n);
    if (p == NULL || n == 0) {
        return (struct lg_slice){NULL, 0};
    }
    return (struct lg_slice){p, n};
}

/* ---- blocks between nodes ------------------------------------------------ */

int ord_blocks_read(struct lg_channel *ch, uint64_t from, uint64_t max,
                    size_t max_bytes, struct base_buf *out)
{
    uint64_t height;
    lg_channel_tip(ch, &height, NULL, NULL);
    if (from >= height) {
        return BASE_ENOTFOUND;
    }
    size_t start = out->len;
    for (uint64_t n = from; n < height && n - from < max; n++) {
        if (n > from && out->len - start >= max_bytes) {
            break;
        }
        /* Reserve the length, append the block, then fill the length. */
        size_t at = out->len;
        int rv = base_buf_add_u32(out, 0);
        if (rv == 0) {
            rv = lg_block_get(ch, n, out);
        }
        if (rv != 0) {
            return rv == BASE_ENOTFOUND ? BASE_EIO : rv;
        }
        base_put_u32(out->data + at, (uint32_t)(out->len - at - 4));
    }
    return 0;
}

/* ---- codes -------------------------------------------------------------- */

int ord__from_raft(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case RAFT_NOMEM:
        return BASE_ENOMEM;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST:
        return BASE_ENOTLEADER;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED:
        return BASE_ECLOSED;
    case RAFT_CANTBOOTSTRAP:
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
        return BASE_EEXIST;
    case RAFT_CANTCHANGE:
    case RAFT_BUSY:
        return BASE_EBUSY;
    case RAFT_CORRUPT:
    case RAFT_MALFORMED:
        return BASE_ECORRUPT;
    case RAFT_TOOBIG:
        return BASE_ETOOBIG;
    case RAFT_NOTFOUND:
        return BASE_ENOTFOUND;
    case RAFT_UNAUTHORIZED:
        return BASE_EPERM;
    case RAFT_NOSPACE:
        return BASE_ENOSPC;
    case RAFT_TOOMANY:
        return BASE_EFULL;
    case RAFT_BADID:
    case RAFT_BADROLE:
    case RAFT_INVALID:
    case RAFT_NAMETOOLONG:
        return BASE_EINVAL;
    default:
        return BASE_EIO;
    }
}

int ord__to_raft(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case BASE_ENOMEM:
        return RAFT_NOMEM;
    case BASE_ENOSPC:
        return RAFT_NOSPACE;
    case BASE_ECORRUPT:
    case BASE_EPARSE:
        return RAFT_CORRUPT;
    default:
        return RAFT_IOERR;
    }
}

/* ---- the cluster list ---------------------------------------------------- */

/* Checks "HOST:PORT" (a host name or address, a port 1..65535): the
 * HTTP part of a member's address. */
static bool host_port_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    uint64_t port;
    if (colon == NULL || colon == s || base_parse_u64(colon + 1, &port) != 0 ||
        port == 0 || port > 65535) {
        return false;
    }
    for (const char *c = s; c < colon; c++) {
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-')) {
            return false;
        }
    }
    return true;
}

/* One "ID@A.B.C.D:PORT[/HOST:PORT]" item of @len bytes at @p into @m.
 * libraft's TCP transport takes IPv4 addresses only (uv_ip4_addr). The
 * optional part after '/' is the node's HTTP address, carried in the
 * member's address so that Raft's configuration tells every node where
 * each member's gateway is (ord_address_split). */
static int parse_member(const char *p, size_t len, struct ord_member *m,
                        char *errmsg)
{
    char item[ORD_ADDRESS_MAX + 32];
    if (len == 0 || len >= sizeof item) {
        return base_errf(errmsg, BASE_EPARSE, "empty or overlong item '%.*s'",
                         (int)(len > 64 ? 64 : len), p);
    }
    memcpy(item, p, len);
    item[len] = '\0';
    char *slash = strchr(item, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    char *at = strchr(item, '@');
    char *colon = at != NULL ? strrchr(at, ':') : NULL;
    if (at == NULL || colon == NULL) {
        return base_errf(errmsg, BASE_EPARSE,
                         "'%s' is not ID@HOST:PORT (e.g. 1@127.0.0.1:7001)",
                         item);
    }
    *at = '\0';
    *colon = '\0';
    uint64_t id, port;
    struct in_addr ip;
    if (base_parse_u64(item, &id) != 0 || id == 0) {
        return base_errf(errmsg, BASE_EPARSE,
                         "node id '%s' is not a positive integer", item);
    }
    if (inet_pton(AF_INET, at + 1, &ip) != 1) {
        return base_errf(errmsg, BASE_EPARSE,
                         "node %llu: '%s' is not an IPv4 address",
                         (unsigned long long)id, at + 1);
    }
    if (base_parse_u64(colon + 1, &port) != 0 || port == 0 || port > 65535) {
        return base_errf(errmsg, BASE_EPARSE,
                         "node %llu: '%s' is not a port number",
                         (unsigned long long)id, colon + 1);
    }
    if (slash != NULL && !host_port_ok(slash + 1)) {
        return base_errf(errmsg, BASE_EPARSE,
                         "node %llu: '%s' is not an HTTP address HOST:PORT",
                         (unsigned long long)id, slash + 1);
    }
    m->id = id;
    int n = snprintf(m->address, sizeof m->address, "%s:%llu%s%s", at + 1,
                     (unsigned long long)port, slash ? "/" : "",
                     slash ? slash + 1 : "");
    if (n < 0 || (size_t)n >= sizeof m->address) {
        return base_errf(errmsg, BASE_EPARSE,
                         "node %llu: the address is longer than %d bytes",
                         (unsigned long long)id, ORD_ADDRESS_MAX - 1);
    }
    return 0;
}

void ord_address_split(const char *address, char *raft, size_t raft_size,
                       char *http, size_t http_size)
{
    const char *slash = strchr(address, '/');
    size_t rl = slash ? (size_t)(slash - address) : strlen(address);
    if (raft != NULL && raft_size > 0) {
        snprintf(raft, raft_size, "%.*s", (int)rl, address);
    }
    if (http != NULL && http_size > 0) {
        snprintf(http, http_size, "%s", slash ? slash + 1 : "");
    }
}

int ord_cluster_parse(const char *text, struct ord_member *out, size_t max,
                      size_t *n, char *errmsg)
{
    size_t count = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (count == max) {
            return base_errf(errmsg, BASE_EINVAL,
                             "more than %zu members in the cluster list", max);
        }
        struct ord_member m;
        int rv = parse_member(p, len, &m, errmsg);
        if (rv != 0) {
            return rv;
        }
        for (size_t i = 0; i < count; i++) {
            if (out[i].id == m.id) {
                return base_errf(errmsg, BASE_EINVAL,
                                 "node id %llu appears twice",
                                 (unsigned long long)m.id);
            }
            if (strcmp(out[i].address, m.address) == 0) {
                return base_errf(errmsg, BASE_EINVAL,
                                 "address %s appears twice", m.address);
            }
        }
        out[count++] = m;
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    *n = count;
    return 0;
}
