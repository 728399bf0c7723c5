/* SPDX-License-Identifier: MIT */
/* The Raft transport's handshake as bytes: parsing what a peer sends,
 * encoding ours, and the signed transcript (order_int.h has the offset
 * tables). No I/O here, so that the parsers can be fuzzed alone. */
#include <assert.h>
#include <string.h>

#include "order/order_int.h"

static const uint8_t magic[4] = {'G', 'L', 'R', 'A'};

enum { TYPE_HELLO = 1, TYPE_CHALLENGE = 2, TYPE_RESPONSE = 3 };

/* The 8 bytes every message starts with; @type the one expected. */
static int check_head(const uint8_t *p, unsigned type, const char **why)
{
    if (memcmp(p, magic, sizeof magic) != 0) {
        *why = "not a gridledger hello (bad magic)";
        return BASE_EPARSE;
    }
    if (p[4] != ORD__AUTH_VERSION) {
        *why = "unsupported handshake version";
        return BASE_EPARSE;
    }
    if (p[5] != type) {
        *why = "unexpected handshake message type";
        return BASE_EPARSE;
    }
    return 0;
}

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

int ord__auth_hello_parse(const uint8_t *p, size_t len,
                          struct ord__auth_hello *h, size_t *need,
                          const char **why)
{
    *need = 8;
    /* Refuse garbage as soon as its first byte says so, not after the
     * peer has been waited for. */
    size_t head = len < sizeof magic ? len : sizeof magic;
    if (memcmp(p, magic, head) != 0) {
        *why = "not a gridledger hello (bad magic)";
        return BASE_EPARSE;
    }
    if (len < 8) {
        return 1;
    }
    int rv = check_head(p, TYPE_HELLO, why);
    if (rv != 0) {
        return rv;
    }
    size_t alen = (size_t)p[6] << 8 | p[7];
    if (alen == 0 || alen > ORD__AUTH_ADDR_MAX) {
        *why = "hello with an empty or oversized address";
        return BASE_EPARSE;
    }
    *need = ORD__AUTH_HELLO_FIXED + alen;
    if (len < *need) {
        return 1;
    }
    uint64_t id = base_get_u64(p + 8);
    if (id == 0) {
        *why = "hello with Raft id 0";
        return BASE_EPARSE;
    }
    if (!printable(p + ORD__AUTH_HELLO_FIXED, alen)) {
        *why = "hello with a non-printable address";
        return BASE_EPARSE;
    }
    h->id = id;
    memcpy(h->nonce, p + 16, ORD__AUTH_NONCE);
    memcpy(h->address, p + ORD__AUTH_HELLO_FIXED, alen);
    h->address[alen] = '\0';
    return 0;
}

int ord__auth_challenge_parse(const uint8_t *p, struct ord__auth_challenge *c,
                              const char **why)
{
    int rv = check_head(p, TYPE_CHALLENGE, why);
    if (rv != 0) {
        return rv;
    }
    if (p[6] != 0 || p[7] != 0) {
        *why = "challenge with non-zero reserved bytes";
        return BASE_EPARSE;
    }
    c->id = base_get_u64(p + 8);
    memcpy(c->nonce, p + 16, ORD__AUTH_NONCE);
    memcpy(c->sig, p + 48, CR_SIG_SIZE);
    return 0;
}

int ord__auth_response_parse(const uint8_t *p, uint8_t sig[CR_SIG_SIZE],
                             const char **why)
{
    int rv = check_head(p, TYPE_RESPONSE, why);
    if (rv != 0) {
        return rv;
    }
    if (p[6] != 0 || p[7] != 0) {
        *why = "response with non-zero reserved bytes";
        return BASE_EPARSE;
    }
    memcpy(sig, p + 8, CR_SIG_SIZE);
    return 0;
}

static void put_head(uint8_t *out, unsigned type)
{
    memcpy(out, magic, sizeof magic);
    out[4] = ORD__AUTH_VERSION;
    out[5] = (uint8_t)type;
    out[6] = out[7] = 0;
}

size_t ord__auth_hello_encode(uint8_t *out, uint64_t id,
                              const uint8_t nonce[ORD__AUTH_NONCE],
                              const char *address)
{
    size_t alen = strlen(address);
    assert(alen > 0 && alen <= ORD__AUTH_ADDR_MAX);
    put_head(out, TYPE_HELLO);
    out[6] = (uint8_t)(alen >> 8);
    out[7] = (uint8_t)alen;
    base_put_u64(out + 8, id);
    memcpy(out + 16, nonce, ORD__AUTH_NONCE);
    memcpy(out + ORD__AUTH_HELLO_FIXED, address, alen);
    return ORD__AUTH_HELLO_FIXED + alen;
}

void ord__auth_challenge_encode(uint8_t out[ORD__AUTH_CHALLENGE_SIZE],
                                const struct ord__auth_challenge *c)
{
    put_head(out, TYPE_CHALLENGE);
    base_put_u64(out + 8, c->id);
    memcpy(out + 16, c->nonce, ORD__AUTH_NONCE);
    memcpy(out + 48, c->sig, CR_SIG_SIZE);
}

void ord__auth_response_encode(uint8_t out[ORD__AUTH_RESPONSE_SIZE],
                               const uint8_t sig[CR_SIG_SIZE])
{
    put_head(out, TYPE_RESPONSE);
    memcpy(out + 8, sig, CR_SIG_SIZE);
}

#define TRANSCRIPT_MAX                                                         \
    (8 + 1 + 1 + LG_NAME_MAX + 8 + 8 + 2 * ORD__AUTH_NONCE + 1 +               \
     ORD__AUTH_ADDR_MAX)

/* The transcript of @s in direction @dir into @out; its length, or 0 when
 * the channel or the address is too long for it. */
static size_t transcript(uint8_t out[TRANSCRIPT_MAX], char dir,
                         const struct ord__auth_session *s)
{
    size_t clen = strlen(s->channel), alen = strlen(s->caddr);
    if (clen > LG_NAME_MAX || alen > ORD__AUTH_ADDR_MAX) {
        return 0;
    }
    size_t n = 0;
    memcpy(out, "GLRAUTH1", 8);
    n += 8;
    out[n++] = (uint8_t)dir;
    out[n++] = (uint8_t)clen;
    memcpy(out + n, s->channel, clen);
    n += clen;
    base_put_u64(out + n, s->cid);
    n += 8;
    base_put_u64(out + n, s->lid);
    n += 8;
    memcpy(out + n, s->cnonce, ORD__AUTH_NONCE);
    n += ORD__AUTH_NONCE;
    memcpy(out + n, s->lnonce, ORD__AUTH_NONCE);
    n += ORD__AUTH_NONCE;
    out[n++] = (uint8_t)alen;
    memcpy(out + n, s->caddr, alen);
    n += alen;
    return n;
}

void ord__auth_sign(uint8_t sig[CR_SIG_SIZE], char dir,
                    const struct ord__auth_session *s,
                    const struct cr_keypair *key)
{
    uint8_t t[TRANSCRIPT_MAX];
    size_t n = transcript(t, dir, s);
    assert(n > 0);
    cr_sign(sig, t, n, key);
}

int ord__auth_verify(const uint8_t sig[CR_SIG_SIZE], char dir,
                     const struct ord__auth_session *s,
                     const uint8_t pk[CR_PUBKEY_SIZE])
{
    uint8_t t[TRANSCRIPT_MAX];
    size_t n = transcript(t, dir, s);
    if (n == 0) {
        return BASE_EBADSIG;
    }
    return cr_verify(sig, t, n, pk) == 0 ? 0 : BASE_EBADSIG;
}

/* ---- libraft's messages from an authenticated peer -----------------------
 * libraft 0.15 (uv_recv.c, uv_encoding.c) allocates whatever a preamble's
 * header length says, and decodes a header without checking that the
 * fields it reads lie inside it; the entry count and lengths it finds
 * there size the next allocation. These checks keep every read inside
 * the header and every allocation under a bound. */

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* libraft's message types (raft.h's RAFT_IO_*). */
enum {
    M_APPEND = 1,
    M_APPEND_RESULT = 2,
    M_VOTE = 3,
    M_VOTE_RESULT = 4,
    M_SNAPSHOT = 5,
    M_TIMEOUT_NOW = 6
};

/* Fixed-size headers are a few fields: none reaches this. */
#define SMALL_HEADER_MAX 256

int ord__frame_preamble(const uint8_t pre[ORD__FRAME_PREAMBLE], uint64_t *type,
                        uint64_t *hlen, const char **why)
{
    *type = get_le64(pre);
    *hlen = get_le64(pre + 8);
    if (*type < M_APPEND || *type > M_TIMEOUT_NOW) {
        *why = "unknown message type";
        return BASE_EPARSE;
    }
    uint64_t max = *type == M_APPEND || *type == M_SNAPSHOT
                       ? ORD__FRAME_HEADER_MAX
                       : SMALL_HEADER_MAX;
    if (*hlen == 0 || *hlen > max) {
        *why = "message header length out of bounds";
        return BASE_EPARSE;
    }
    return 0;
}

/* Can libraft's configuration decoder read @c (@len bytes) without
 * running past it? It asserts the buffer is not empty, reads a version
 * byte and a server count, then per server an id, a NUL-terminated address
 * and a role. The check is what any well-formed configuration passes: the
 * count fits the bytes (at least 10 a server) and as many NULs as servers
 * follow the count, so no address scan leaves the buffer. */
static bool conf_plausible(const uint8_t *c, size_t len)
{
    if (len < 9) {
        return false;
    }
    uint64_t n = get_le64(c + 1);
    if (n > (len - 9) / 10) {
        return false;
    }
    uint64_t nuls = 0;
    for (size_t i = 9; i < len && nuls < n; i++) {
        nuls += c[i] == 0;
    }
    return nuls >= n;
}

int ord__frame_header(uint64_t type, const uint8_t *h, size_t hlen,
                      uint64_t *payload, const char **why)
{
    *payload = 0;
    /* The bytes libraft's decoder reads for each type. */
    size_t least = 0;
    switch (type) {
    case M_APPEND: {
        /* term, prev index, prev term, commit, then the batch: a count
         * and 16 bytes per entry (term, type, 3 unused, u32 length). */
        if (hlen < 40) {
            *why = "AppendEntries header too short";
            return BASE_EPARSE;
        }
        uint64_t n = get_le64(h + 32);
        if (n > (hlen - 40) / 16) {
            *why = "AppendEntries entry count beyond its header";
            return BASE_EPARSE;
        }
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *e = h + 40 + 16 * i;
            uint32_t len = get_le32(e + 12);
            /* RAFT_COMMAND, RAFT_BARRIER, RAFT_CHANGE; libraft finds each
             * entry after the one before rounded up to 8, but counts the
             * payload unrounded: an unaligned length would move it
             * past the payload. */
            if (e[8] < 1 || e[8] > 3 || len % 8 != 0) {
                *why = "AppendEntries entry of a bad type or length";
                return BASE_EPARSE;
            }
            /* A RAFT_CHANGE entry is a configuration, which libraft's
             * decoder asserts is not empty. */
            if (e[8] == 3 && len == 0) {
                *why = "AppendEntries configuration entry that is empty";
                return BASE_EPARSE;
            }
            *payload += len;
        }
        if (*payload > ORD__FRAME_PAYLOAD_MAX) {
            *why = "AppendEntries payload over the bound";
            return BASE_EPARSE;
        }
        return 0;
    }
    case M_SNAPSHOT: {
        /* term, last index, last term, conf index, conf length, conf,
         * data length. */
        if (hlen < 48) {
            *why = "InstallSnapshot header too short";
            return BASE_EPARSE;
        }
        uint64_t conf = get_le64(h + 32);
        if (conf > hlen - 48) {
            *why = "InstallSnapshot configuration beyond its header";
            return BASE_EPARSE;
        }
        if (!conf_plausible(h + 40, (size_t)conf)) {
            *why = "InstallSnapshot configuration libraft would misread";
            return BASE_EPARSE;
        }
        *payload = get_le64(h + 40 + conf);
        if (*payload > ORD__FRAME_PAYLOAD_MAX) {
            *why = "InstallSnapshot data over the bound";
            return BASE_EPARSE;
        }
        return 0;
    }
    case M_VOTE:
        /* Four fields, and flags unless it is exactly the four. */
        least = hlen == 32 ? 32 : 40;
        break;
    case M_VOTE_RESULT:
        least = hlen <= 16 ? 16 : 24;
        break;
    case M_APPEND_RESULT:
    case M_TIMEOUT_NOW:
        least = 24;
        break;
    default:
        *why = "unknown message type";
        return BASE_EPARSE;
    }
    if (hlen < least) {
        *why = "message header too short for its type";
        return BASE_EPARSE;
    }
    return 0;
}
