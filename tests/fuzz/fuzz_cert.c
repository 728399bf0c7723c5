/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the certificate decoder (lg_cert_decode). A decoded
 * certificate must encode back to exactly the bytes it was read from: the
 * encoding is canonical, so a signature covers one meaning only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lg_cert c;
    struct base_rd rd;
    base_rd_init(&rd, data, size);
    if (lg_cert_decode(&c, &rd) != 0) {
        return 0;
    }
    size_t used = size - base_rd_left(&rd);
    struct base_buf b;
    base_buf_init(&b, 0);
    if (lg_cert_encode(&c, &b) != 0 || b.len != used ||
        memcmp(b.data, data, used) != 0) {
        abort();
    }
    base_buf_release(&b);
    return 0;
}
