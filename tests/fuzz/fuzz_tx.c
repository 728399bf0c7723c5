/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the transaction envelope decoder (lg_tx_decode), the
 * first thing a node does with bytes from a client or a peer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lg_tx tx;
    if (lg_tx_decode(&tx, data, size) != 0) {
        return 0;
    }
    /* Everything the envelope borrows lies inside it, and every name is a
     * valid name (so it prints and routes safely). */
    const uint8_t *end = data + size;
    for (uint32_t i = 0; i < tx.nargs; i++) {
        if (tx.args[i].len > 0 &&
            (tx.args[i].p < data || tx.args[i].p + tx.args[i].len > end)) {
            abort();
        }
    }
    if (tx.signed_bytes.p != data || tx.signed_bytes.len + 64 != size ||
        tx.sig != data + tx.signed_bytes.len || tx.nargs > LG_MAX_ARGS ||
        tx.nintro > LG_MAX_INTRO) {
        abort();
    }
    if (strlen(tx.channel) == 0 || strlen(tx.contract) == 0 ||
        strlen(tx.function) == 0) {
        abort();
    }
    /* Decoding is a function of the bytes: twice gives the same id. */
    struct lg_tx again;
    if (lg_tx_decode(&again, data, size) != 0 ||
        memcmp(again.id.b, tx.id.b, sizeof tx.id.b) != 0) {
        abort();
    }
    return 0;
}
