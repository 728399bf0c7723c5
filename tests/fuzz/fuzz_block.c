/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the block decoder (lg_block_decode), as a follower or
 * `gridledger verify` reads a block from a peer or from disk, then every
 * envelope inside it (lg_tx_decode) and the header decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lg_header h;
    if (lg_header_decode(&h, data, size) == 0) {
        uint8_t enc[LG_HEADER_SIZE];
        lg_header_encode(&h, enc);
        if (memcmp(enc, data, LG_HEADER_SIZE) != 0) {
            abort();
        }
    }
    struct lg_block b;
    if (lg_block_decode(&b, data, size) != 0) {
        return 0;
    }
    const uint8_t *end = data + size;
    for (uint32_t i = 0; i < b.h.tx_count; i++) {
        const struct lg_slice *t = &b.txs[i];
        const struct lg_result *r = &b.results[i];
        if ((t->len > 0 && (t->p < data || t->p + t->len > end)) ||
            (r->reason.len > 0 &&
             (r->reason.p < data || r->reason.p + r->reason.len > end)) ||
            (r->payload.len > 0 &&
             (r->payload.p < data || r->payload.p + r->payload.len > end))) {
            abort();
        }
        struct lg_tx tx;
        (void)lg_tx_decode(&tx, t->p, t->len);
    }
    if (b.h.number == 0 && b.h.tx_count == 1) {
        struct lg_config *c = base_malloc(sizeof *c);
        if (c != NULL) {
            (void)lg_config_decode(c, b.txs[0].p, b.txs[0].len);
            base_free(c);
        }
    }
    lg_block_release(&b);
    return 0;
}
