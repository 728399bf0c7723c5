/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the Raft transport's handshake (src/order/auth.c),
 * the first bytes a node reads from whoever connects to its Raft port
 * (issue 15, finding 1). The input is the byte stream of a connecting
 * peer, fed to the parser as the transport does: a hello read in the
 * pieces the parser asks for, then a response checked against the
 * transcript; the same bytes are also read as a listener's challenge, as
 * a connecting node would, and as the libraft messages that follow a
 * handshake, through the relay's checks (ord__frame_*). The key and the
 * listener's nonce are fixed, so that a seed can carry a response that
 * verifies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "order/order_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cr_keypair key;
static uint8_t lnonce[ORD__AUTH_NONCE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (cr_init() != 0) {
        abort();
    }
    uint8_t seed[32];
    memset(seed, 1, sizeof seed);
    cr_keygen_seed(&key, seed);
    memset(lnonce, 'L', sizeof lnonce);
    return 0;
}

static void as_listener(const uint8_t *data, size_t size)
{
    struct ord__auth_hello h;
    size_t have = 0, need = 8;
    const char *why = NULL;
    int rv;
    /* The transport reads exactly what the parser still lacks. */
    for (;;) {
        have = need < size ? need : size;
        size_t before = need;
        rv = ord__auth_hello_parse(data, have, &h, &need, &why);
        if (rv != 1) {
            break;
        }
        if (need > ORD__AUTH_HELLO_MAX || need < 8 || need < before ||
            need <= have) {
            abort(); /* it must ask for more, and a bounded amount */
        }
        if (have == size) {
            return; /* truncated: the peer would be dropped */
        }
    }
    if (rv != 0) {
        if (rv != BASE_EPARSE || why == NULL || why[0] == '\0') {
            abort(); /* every refusal says why */
        }
        return;
    }
    size_t alen = strlen(h.address);
    if (need != have || need != ORD__AUTH_HELLO_FIXED + alen || alen == 0 ||
        alen > ORD__AUTH_ADDR_MAX || h.id == 0) {
        abort();
    }
    for (size_t i = 0; i < alen; i++) {
        if (h.address[i] < 0x21 || h.address[i] > 0x7e) {
            abort();
        }
    }
    if (size - have < ORD__AUTH_RESPONSE_SIZE) {
        return;
    }
    uint8_t sig[CR_SIG_SIZE];
    if (ord__auth_response_parse(data + have, sig, &why) != 0) {
        return;
    }
    struct ord__auth_session s = {
        .channel = "energy", .cid = h.id, .lid = 1, .caddr = h.address};
    memcpy(s.cnonce, h.nonce, sizeof s.cnonce);
    memcpy(s.lnonce, lnonce, sizeof s.lnonce);
    if (ord__auth_verify(sig, 'C', &s, key.pk) == 0) {
        /* A good response must not also pass as the listener's. */
        if (ord__auth_verify(sig, 'L', &s, key.pk) == 0) {
            abort();
        }
    }
}

static void as_connector(const uint8_t *data, size_t size)
{
    if (size < ORD__AUTH_CHALLENGE_SIZE) {
        return;
    }
    struct ord__auth_challenge c;
    const char *why;
    if (ord__auth_challenge_parse(data, &c, &why) != 0) {
        return;
    }
    uint8_t cnonce[ORD__AUTH_NONCE];
    memset(cnonce, 'C', sizeof cnonce);
    struct ord__auth_session s = {
        .channel = "energy", .cid = 2, .lid = c.id, .caddr = "127.0.0.1:7002"};
    memcpy(s.cnonce, cnonce, sizeof s.cnonce);
    memcpy(s.lnonce, c.nonce, sizeof s.lnonce);
    (void)ord__auth_verify(c.sig, 'L', &s, key.pk);
}

/* The bytes as the messages an authenticated peer sends libraft. */
static void as_relay(const uint8_t *data, size_t size)
{
    const char *why;
    while (size >= ORD__FRAME_PREAMBLE) {
        uint64_t type, hlen, payload;
        if (ord__frame_preamble(data, &type, &hlen, &why) != 0) {
            return;
        }
        if (hlen == 0 || hlen > ORD__FRAME_HEADER_MAX) {
            abort();
        }
        data += ORD__FRAME_PREAMBLE;
        size -= ORD__FRAME_PREAMBLE;
        if (hlen > size) {
            return;
        }
        /* A copy of exactly the header, so that ASan sees a read past it. */
        uint8_t *h = malloc((size_t)hlen);
        if (h == NULL) {
            abort();
        }
        memcpy(h, data, (size_t)hlen);
        int rv = ord__frame_header(type, h, (size_t)hlen, &payload, &why);
        free(h);
        if (rv != 0) {
            return;
        }
        if (payload > ORD__FRAME_PAYLOAD_MAX) {
            abort();
        }
        data += hlen;
        size -= (size_t)hlen;
        size_t skip = payload < size ? (size_t)payload : size;
        data += skip;
        size -= skip;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_listener(data, size);
    as_connector(data, size);
    as_relay(data, size);
    return 0;
}
