/* SPDX-License-Identifier: MIT */
/* A small test consortium: an orderer, organisations with root keys, and
 * members with certificates, all from fixed seeds so runs are repeatable. */
#ifndef GL_TEST_CONSORTIUM_H
#define GL_TEST_CONSORTIUM_H

#include "contract/contract.h"
#include "ledger/ledger.h"

struct tc_member {
    struct lg_cert cert;
    struct cr_keypair key;
};

struct tc_consortium {
    struct cr_keypair orderer;
    struct cr_keypair roots[4]; /* ISO, DSO, DERA1, DERA2 */
    struct lg_config cfg;
    struct tc_member iso, dso, dera, dera2, outsider;
    struct tc_member deraB; /* DERA2/carol: a second aggregator */
    struct sc_registry reg;
    struct lg_executor exec;
};

/** Fill @c: channel @channel, orgs ISO (iso), DSO (dso), DERA1 (dera),
 *  DERA2 (dera), members ISO/op, DSO/op, DERA1/alice, DERA1/bob,
 *  DERA2/carol, and an outsider whose
 *  certificate is signed by a key no org owns. */
void tc_init(struct tc_consortium *c, const char *channel);
/** Build a signed transaction into @out (reset first). */
void tc_tx(struct base_buf *out, const struct tc_member *m, const char *channel,
           const char *contract, const char *fn, uint64_t nonce, int nargs,
           ...);

/** Certify a member of @org with @role, key from the seed byte @tag, by
 *  @root; @name NULL names it by its key in hex (an anonymous address). */
void tc_certify(struct tc_member *m, const char *org, const char *role,
                const char *name, const struct cr_keypair *root, uint8_t tag);
/** Append organisation @name granting @role, with root key @root, to
 *  @cfg. */
void tc_add_org(struct lg_config *cfg, const char *name, const char *role,
                const struct cr_keypair *root);

/** Flip the bit 0x01 of byte @off (modulo its length) of block @n of
 *  channel "energy" as stored in the LMDB of ledger directory @dir,
 *  directly: a damaged block store. The ledger must not be open in this
 *  process. Flipping twice repairs it. */
void tc_damage_block(const char *dir, uint64_t n, size_t off);

#endif
