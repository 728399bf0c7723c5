/* SPDX-License-Identifier: MIT */
/* The asset contract: create, read, update, transfer, delete. */
#include <jansson.h>
#include <string.h>

#include "contract/contract.h"

#define ID_MAX    SC_ID_MAX
#define OWNER_MAX (2 * LG_NAME_MAX + 2)
#define VALUE_MAX 4096

struct asset {
    char id[ID_MAX + 1];
    char owner[OWNER_MAX];
    char value[VALUE_MAX + 1];
};

/* Assets are stored as compact JSON so that queries and events can hand
 * them out unchanged. jansson escapes the strings; sc_pack makes a string
 * it refuses the caller's error, not the block's. */
static int store(struct lg_ctx *ctx, const struct asset *a, const char *event)
{
    json_t *o;
    int rv = sc_pack(ctx, &o, "{s:s, s:s, s:s}", "id", a->id, "owner", a->owner,
                     "value", a->value);
    return rv ? rv : sc_put_json(ctx, a->id, o, event);
}

static int load(struct lg_ctx *ctx, const char *id, struct asset *a)
{
    struct lg_slice v;
    int rv = lg_ctx_get(ctx, id, strlen(id), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, rv, "asset '%s' does not exist", id);
    }
    if (rv != 0) {
        return rv;
    }
    json_error_t err;
    json_t *o = json_loadb((const char *)v.p, v.len, 0, &err);
    const char *owner = json_string_value(json_object_get(o, "owner"));
    const char *value = json_string_value(json_object_get(o, "value"));
    if (owner == NULL || value == NULL || strlen(owner) >= OWNER_MAX ||
        strlen(value) > VALUE_MAX) {
        json_decref(o);
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "asset '%s' is corrupt", id);
    }
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->owner, sizeof a->owner, "%s", owner);
    snprintf(a->value, sizeof a->value, "%s", value);
    json_decref(o);
    return 0;
}

static int args(struct lg_ctx *ctx, uint32_t argc, const struct lg_slice *argv,
                uint32_t want, const char *usage, char *id)
{
    if (argc != want) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: %s", usage);
    }
    return sc_arg_id(ctx, &argv[0], id, "asset id");
}

static int owned(struct lg_ctx *ctx, const struct asset *a)
{
    char me[OWNER_MAX];
    sc_caller_id(ctx, me);
    if (strcmp(me, a->owner) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM, "asset '%s' belongs to %s, not %s",
                           a->id, a->owner, me);
    }
    return 0;
}

static int value_arg(struct lg_ctx *ctx, const struct lg_slice *v,
                     struct asset *a)
{
    return sc_arg_text(ctx, v, a->value, sizeof a->value, "value");
}

static int create(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct asset a;
    int rv = args(ctx, argc, argv, 2, "create ID VALUE", a.id);
    if (rv != 0) {
        return rv;
    }
    struct lg_slice old;
    if (lg_ctx_get(ctx, a.id, strlen(a.id), &old) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST, "asset '%s' already exists", a.id);
    }
    rv = value_arg(ctx, &argv[1], &a);
    if (rv != 0) {
        return rv;
    }
    sc_caller_id(ctx, a.owner);
    return store(ctx, &a, "AssetCreated");
}

static int read_fn(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv)
{
    char id[ID_MAX + 1];
    int rv = args(ctx, argc, argv, 1, "read ID", id);
    struct lg_slice v;
    if (rv == 0) {
        rv = lg_ctx_get(ctx, id, strlen(id), &v);
        if (rv == BASE_ENOTFOUND) {
            return lg_ctx_fail(ctx, rv, "asset '%s' does not exist", id);
        }
    }
    return rv == 0 ? lg_ctx_return(ctx, v.p, v.len) : rv;
}

static int update(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct asset a;
    char id[ID_MAX + 1];
    int rv = args(ctx, argc, argv, 2, "update ID VALUE", id);
    if (rv == 0) {
        rv = load(ctx, id, &a);
    }
    if (rv == 0) {
        rv = owned(ctx, &a);
    }
    if (rv == 0) {
        rv = value_arg(ctx, &argv[1], &a);
    }
    return rv == 0 ? store(ctx, &a, "AssetUpdated") : rv;
}

/* ORG/NAME as certificates spell them: two non-empty parts of printable
 * ASCII without spaces or another '/'. */
static bool member_name(const struct lg_slice *a, char *out, size_t size)
{
    if (sc_arg_str(a, out, size) != 0) {
        return false;
    }
    const char *slash = strchr(out, '/');
    if (slash == NULL || slash == out || slash[1] == '\0' ||
        strchr(slash + 1, '/') != NULL || (size_t)(slash - out) > LG_NAME_MAX ||
        strlen(slash + 1) > LG_NAME_MAX) {
        return false;
    }
    for (const char *p = out; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f) {
            return false;
        }
    }
    return true;
}

static int transfer(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    struct asset a;
    char id[ID_MAX + 1], to[OWNER_MAX];
    int rv = args(ctx, argc, argv, 2, "transfer ID ORG/NAME", id);
    if (rv == 0) {
        rv = load(ctx, id, &a);
    }
    if (rv == 0) {
        rv = owned(ctx, &a);
    }
    if (rv == 0 && !member_name(&argv[1], to, sizeof to)) {
        rv = lg_ctx_fail(ctx, BASE_EARGS,
                         "new owner must be ORG/NAME (printable ASCII, no "
                         "spaces, as in a certificate)");
    }
    if (rv == 0) {
        snprintf(a.owner, sizeof a.owner, "%s", to);
        rv = store(ctx, &a, "AssetTransferred");
    }
    return rv;
}

static int delete_fn(struct lg_ctx *ctx, uint32_t argc,
                     const struct lg_slice *argv)
{
    struct asset a;
    char id[ID_MAX + 1];
    int rv = args(ctx, argc, argv, 1, "delete ID", id);
    if (rv == 0) {
        rv = load(ctx, id, &a);
    }
    if (rv == 0) {
        rv = owned(ctx, &a);
    }
    if (rv == 0) {
        rv = lg_ctx_del(ctx, id, strlen(id));
    }
    if (rv == 0) {
        rv = lg_ctx_emit(ctx, "AssetDeleted", id, strlen(id));
    }
    return rv;
}

static const struct sc_function functions[] = {
    {"create", create, NULL},    {"read", read_fn, NULL},
    {"update", update, NULL},    {"transfer", transfer, NULL},
    {"delete", delete_fn, NULL},
};

/* No read rule: assets are public to every reader (the benchmark's). */
const struct sc_contract sc_asset_contract = {"asset", functions,
                                              BASE_ARRAY_LEN(functions), NULL};
