/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the channel configuration decoder (lg_config_decode),
 * block 0's content, which a joining node reads from a cluster. Accepted
 * bytes must be canonical: they encode back to themselves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lg_config *c = base_malloc(sizeof *c);
    if (c == NULL) {
        return 0;
    }
    if (lg_config_decode(c, data, size) == 0) {
        struct base_buf b;
        base_buf_init(&b, 0);
        if (lg_config_encode(c, &b) != 0 || b.len != size ||
            memcmp(b.data, data, size) != 0) {
            abort();
        }
        base_buf_release(&b);
        for (uint32_t i = 0; i < c->norgs; i++) {
            if (lg_config_org(c, c->orgs[i].name) == NULL) {
                abort();
            }
        }
    }
    base_free(c);
    return 0;
}
