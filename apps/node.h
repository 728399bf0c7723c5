/* SPDX-License-Identifier: MIT */
/* What the commands share: the ledger directory layout, key and
 * certificate files, and opening the embedded node. */
#ifndef GL_APPS_NODE_H
#define GL_APPS_NODE_H

#include "contract/contract.h"
#include "ledger/ledger.h"
#include "order/order.h"
#include "store/store.h"

/*
 * A ledger directory:
 *   DIR/data.mdb, lock.mdb     the LMDB store (every channel)
 *   DIR/config.json            settings (optional; app_config_get)
 *   DIR/offchain.sqlite        off-chain records, unless config.json's
 *                              "offchain" names another store
 *   DIR/keys/orderer.key       the orderer's key (hex seed)
 *   DIR/keys/ORG/root.key      an organisation's root key
 *   DIR/keys/ORG/NAME.key      a member's key
 *   DIR/keys/ORG/NAME.cert     its certificate (hex of the encoding)
 *   DIR/apikeys.json           the node's API keys, hashed (gateway.h)
 */

#define APP_APIKEYS_FILE "apikeys.json"

#define APP_DEFAULT_CHANNEL "energy"

/** The embedded node: ledger, contracts, and (when started) an orderer. */
struct app_node {
    struct sc_registry reg;
    struct lg_ledger *ledger;
    struct lg_channel *ch;
    struct cr_keypair orderer;
    struct ord_solo *solo;
};

/** Open DIR (read-only when @ro) and select @channel. Prints the reason on
 *  failure and returns non-zero. */
int app_node_open(struct app_node *n, const char *dir, const char *channel,
                  bool ro);
/** Start solo ordering (loads DIR/keys/orderer.key). */
int app_node_start(struct app_node *n, const char *dir,
                   const struct ord_options *opt);
void app_node_close(struct app_node *n);

struct app_member {
    struct lg_cert cert;
    struct cr_keypair key;
};

/** Load DIR/keys/ORG/NAME.{key,cert} for @who ("ORG/NAME"). */
int app_member_load(struct app_member *m, const char *dir, const char *who);
/** Write a key file (hex seed). */
int app_key_write(const char *path, const uint8_t seed[32]);
/** Read a key file. */
int app_key_read(const char *path, struct cr_keypair *kp);
/** Certify a new member of @org with role @role, valid @days, and write
 *  its key and certificate under DIR/keys/ORG/. */
int app_member_create(const char *dir, const char *org, const char *name,
                      const char *role, unsigned days, struct app_member *out);

/** An organisation of a new ledger: its name, the one role it grants, and
 *  the members to certify (NULL-terminated; may be NULL). */
struct app_org {
    const char *name;
    const char *role;
    const char *const *members;
};

/** Create a ledger in @dir (which must not hold one) with channel @channel
 *  whose genesis names @orgs, with fresh root and orderer keys and member
 *  certificates under DIR/keys. Prints the reason on failure. */
int app_ledger_create(const char *dir, const char *channel,
                      const struct app_org *orgs, size_t norgs);

/** Parse "--opt VALUE" pairs: returns the value of @name in argv or NULL,
 *  and removes both from argv (argc updated). */
const char *app_take_opt(int *argc, char **argv, const char *name);
/** Remove a boolean flag; true when present. */
bool app_take_flag(int *argc, char **argv, const char *name);

/* ---- settings and the off-chain store ---------------------------------
 * DIR/config.json is a JSON object of settings, all optional (docs/
 * offchain.md). Keys this version does not know are kept and ignored.
 *   "offchain"  the off-chain store's spec (kv_offchain_open_uri): a
 *               postgresql:// URI, or sqlite:PATH / PATH, a relative PATH
 *               being taken in DIR. Default APP_OFFCHAIN_DEFAULT.
 * The file is written with mode 0600: a spec may hold a password. */

#define APP_CONFIG_FILE      "config.json"
#define APP_OFFCHAIN_DEFAULT "offchain.sqlite"

/** The string setting @key of DIR/config.json into @val (@size bytes), or
 *  @dflt when the file or the key is absent. Prints the reason and returns
 *  non-zero when the file is malformed, the value is not a string, or it
 *  does not fit. */
int app_config_get(const char *dir, const char *key, const char *dflt,
                   char *val, size_t size);
/** Set the string setting @key of DIR/config.json to @val, keeping the
 *  others (the file is created if missing, replaced atomically). Prints
 *  the reason and returns non-zero on failure. */
int app_config_set(const char *dir, const char *key, const char *val);

/** Open the off-chain record store configured for the ledger in @dir:
 *  the "offchain" spec of DIR/config.json, or DIR/offchain.sqlite. This is
 *  the one place a command opens it (gridledger run, and the node).
 *  On success *@out is the caller's, to kv_offchain_close(); the store is
 *  thread-safe. Prints the reason (passwords left out) and returns
 *  non-zero on failure, *@out untouched. */
int app_offchain_open(const char *dir, struct kv_offchain **out);
/** Check that @spec opens as the off-chain store of @dir (a relative
 *  SQLite path is taken in @dir, which must exist): open and close it.
 *  Prints the reason and returns non-zero on failure. */
int app_offchain_check(const char *dir, const char *spec);

#endif
