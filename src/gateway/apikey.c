/* SPDX-License-Identifier: MIT */
/* API keys: the key file (hashed tokens, role limits), its command-line
 * operations, and the lookups a running gateway makes. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_int.h"

/*
 * The key file, JSON (written atomically, mode 0600):
 *   {"version": 1, "keys": [{"id": "16 hex", "name": "...",
 *     "identity": "ORG/NAME", "hash": "SHA-256 of the token, hex",
 *     "allow": "asset.*,bids.retrieve", "read_only": false,
 *     "revoked": false, "created": UNIX_SECONDS}, ...]}
 * The token itself is never stored.
 */

#define KEYS_MAX_FILE (16u << 20)

static bool name_ok(const char *s, size_t max, bool slash)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        return false;
    }
    for (; *s; s++) {
        if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\' ||
            (*s == '/' && !slash) || *s == ',') {
            return false;
        }
    }
    return true;
}

static bool identity_ok(const char *who)
{
    const char *slash = strchr(who, '/');
    return slash != NULL && slash != who && slash[1] != '\0' &&
           strchr(slash + 1, '/') == NULL && strstr(who, "..") == NULL &&
           (size_t)(slash - who) <= LG_NAME_MAX &&
           strlen(slash + 1) <= LG_NAME_MAX &&
           name_ok(who, 2 * LG_NAME_MAX + 1, true);
}

/* "*", "" or comma-separated CONTRACT.FUNCTION with "*" for either part. */
static bool allow_ok(const char *allow)
{
    if (strlen(allow) > GW_ALLOW_MAX) {
        return false;
    }
    if (allow[0] == '\0' || strcmp(allow, "*") == 0) {
        return true;
    }
    const char *p = allow;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char pat[2 * LG_NAME_MAX + 2];
        if (n == 0 || n >= sizeof pat) {
            return false;
        }
        memcpy(pat, p, n);
        pat[n] = '\0';
        char *dot = strchr(pat, '.');
        if (dot == NULL || strchr(dot + 1, '.') != NULL) {
            return false;
        }
        *dot = '\0';
        if (!name_ok(pat, LG_NAME_MAX, false) ||
            !name_ok(dot + 1, LG_NAME_MAX, false)) {
            return false;
        }
        p += n;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                return false;
            }
        }
    }
    return true;
}

static bool part_match(const char *pat, size_t n, const char *s)
{
    return (n == 1 && pat[0] == '*') || (strlen(s) == n && !memcmp(pat, s, n));
}

bool gw_key_allows(const struct gw_key *k, const char *contract,
                   const char *function)
{
    const char *p = k->allow;
    if (p[0] == '\0' || strcmp(p, "*") == 0) {
        return true;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        const char *dot = memchr(p, '.', n);
        if (dot != NULL && part_match(p, (size_t)(dot - p), contract) &&
            part_match(dot + 1, n - (size_t)(dot - p) - 1, function)) {
            return true;
        }
        p += n;
        p += *p == ',';
    }
    return false;
}

static void copy_field(char *dst, size_t size, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, size, "%s", v ? v : "");
}

int gw__keys_parse(const char *text, size_t len, struct gw_keyent **out,
                   size_t *n)
{
    json_t *root = json_loadb(text, len, 0, NULL);
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        json_decref(root);
        return BASE_ECORRUPT;
    }
    size_t cnt = json_array_size(keys);
    struct gw_keyent *e = base_calloc(cnt ? cnt : 1, sizeof *e);
    if (e == NULL) {
        json_decref(root);
        return BASE_ENOMEM;
    }
    int rv = 0;
    size_t i;
    json_t *x;
    json_array_foreach(keys, i, x)
    {
        struct gw_key *k = &e[i].key;
        copy_field(k->id, sizeof k->id, x, "id");
        copy_field(k->name, sizeof k->name, x, "name");
        copy_field(k->identity, sizeof k->identity, x, "identity");
        copy_field(k->allow, sizeof k->allow, x, "allow");
        k->read_only = json_is_true(json_object_get(x, "read_only"));
        k->revoked = json_is_true(json_object_get(x, "revoked"));
        k->created =
            (uint64_t)json_integer_value(json_object_get(x, "created"));
        const char *h = json_string_value(json_object_get(x, "hash"));
        if (strlen(k->id) != GW_KEY_ID_LEN || h == NULL ||
            base_hex_decode(e[i].hash, 32, h) != 0) {
            rv = BASE_ECORRUPT;
            break;
        }
    }
    json_decref(root);
    if (rv != 0) {
        base_free(e);
        return rv;
    }
    *out = e;
    *n = cnt;
    return 0;
}

/* Read the key file; a missing one holds no keys. */
static int read_keys(const char *path, struct gw_keyent **out, size_t *n)
{
    char *text;
    size_t len;
    int rv = base_read_file(path, KEYS_MAX_FILE, &text, &len);
    if (rv == BASE_ENOTFOUND) {
        *out = base_calloc(1, sizeof **out);
        *n = 0;
        return *out ? 0 : BASE_ENOMEM;
    }
    if (rv != 0) {
        return rv;
    }
    rv = gw__keys_parse(text, len, out, n);
    base_free(text);
    return rv;
}

static int write_keys(const char *path, const struct gw_keyent *e, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct gw_key *k = &e[i].key;
        char h[65];
        base_hex_encode(h, e[i].hash, 32);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I}", "id", k->id,
                      "name", k->name, "identity", k->identity, "hash", h,
                      "allow", k->allow, "read_only", k->read_only, "revoked",
                      k->revoked, "created", (json_int_t)k->created));
    }
    json_t *root = json_pack("{s:i, s:o}", "version", 1, "keys", arr);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    int rv = base_write_file(path, s, strlen(s));
    free(s);
    return rv;
}

/* Commands that change the file hold an exclusive lock on PATH.lock, so two
 * of them never lose each other's change. */
static int lock_file(const char *path)
{
    char lp[4096];
    snprintf(lp, sizeof lp, "%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -1;
    }
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void unlock_file(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* Read-modify-write of the key file under its lock: @edit gets the keys
 * (with room for one more) and their count, which it may raise by one; the
 * file is rewritten when it returns 0. */
static int edit_keys(const char *path,
                     int (*edit)(struct gw_keyent *e, size_t *n, void *arg),
                     void *arg)
{
    int fd = lock_file(path);
    if (fd < 0) {
        return BASE_EIO;
    }
    struct gw_keyent *e;
    size_t n;
    int rv = read_keys(path, &e, &n);
    if (rv == 0) {
        struct gw_keyent *ne = base_realloc(e, (n + 1) * sizeof *e);
        if (ne == NULL) {
            base_free(e);
            rv = BASE_ENOMEM;
        }
        e = ne;
    }
    if (rv == 0) {
        rv = edit(e, &n, arg);
        if (rv == 0) {
            rv = write_keys(path, e, n);
        }
        cr_wipe(e, n * sizeof *e);
        base_free(e);
    }
    unlock_file(fd);
    return rv;
}

struct create_job {
    const struct gw_key *spec;
    char tok[GW_KEY_TOKEN_LEN + 1];
    struct gw_key made;
};

static int add_key(struct gw_keyent *e, size_t *n, void *arg)
{
    struct create_job *j = arg;
    for (size_t i = 0; i < *n; i++) {
        if (!e[i].key.revoked && strcmp(e[i].key.name, j->spec->name) == 0) {
            return BASE_EEXIST;
        }
    }
    struct gw_keyent *k = &e[(*n)++];
    memset(k, 0, sizeof *k);
    k->key = *j->spec;
    k->key.revoked = false;
    k->key.created = base_wall_ns() / 1000000000u;
    uint8_t id[GW_KEY_ID_LEN / 2], secret[32];
    cr_random(id, sizeof id);
    cr_random(secret, sizeof secret);
    base_hex_encode(k->key.id, id, sizeof id);
    char sh[65];
    base_hex_encode(sh, secret, sizeof secret);
    snprintf(j->tok, sizeof j->tok, "glk_%s_%s", k->key.id, sh);
    struct cr_hash h;
    cr_sha256(&h, j->tok, strlen(j->tok));
    memcpy(k->hash, h.b, 32);
    j->made = k->key;
    cr_wipe(secret, sizeof secret);
    cr_wipe(sh, sizeof sh);
    return 0;
}

int gw_key_create(const char *path, const struct gw_key *spec, char *token,
                  struct gw_key *out)
{
    if (!name_ok(spec->name, LG_NAME_MAX, false) ||
        !identity_ok(spec->identity) || !allow_ok(spec->allow)) {
        return BASE_EINVAL;
    }
    struct create_job j;
    memset(&j, 0, sizeof j);
    j.spec = spec;
    int rv = edit_keys(path, add_key, &j);
    if (rv == 0) {
        memcpy(token, j.tok, sizeof j.tok);
        if (out != NULL) {
            *out = j.made;
        }
    }
    cr_wipe(j.tok, sizeof j.tok);
    return rv;
}

int gw_key_list(const char *path, struct gw_key **keys, size_t *n)
{
    struct gw_keyent *e;
    size_t cnt;
    int rv = read_keys(path, &e, &cnt);
    if (rv != 0) {
        return rv;
    }
    struct gw_key *k = base_calloc(cnt ? cnt : 1, sizeof *k);
    if (k == NULL) {
        base_free(e);
        return BASE_ENOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        k[i] = e[i].key;
    }
    base_free(e);
    *keys = k;
    *n = cnt;
    return 0;
}

static int revoke_key(struct gw_keyent *e, size_t *n, void *arg)
{
    const char *id = arg;
    int rv = BASE_ENOTFOUND;
    for (size_t i = 0; i < *n; i++) {
        if (!e[i].key.revoked &&
            (strcmp(e[i].key.id, id) == 0 || strcmp(e[i].key.name, id) == 0)) {
            e[i].key.revoked = true;
            rv = 0;
        }
    }
    return rv;
}

int gw_key_revoke(const char *path, const char *id)
{
    return edit_keys(path, revoke_key, (void *)id);
}

/* ---- the running gateway's view ---------------------------------------- */

void gw__keys_release(struct gw_keystore *ks)
{
    if (ks->ents != NULL) {
        cr_wipe(ks->ents, ks->n * sizeof *ks->ents);
    }
    base_free(ks->ents);
    ks->ents = NULL;
    ks->n = 0;
}

/* Re-read the file if it changed since the last read (called locked). A
 * revocation writes a new file by rename, so its inode changes even within
 * one mtime tick. */
static int refresh(struct gw_keystore *ks, char *errmsg)
{
    struct stat st;
    bool exists = stat(ks->path, &st) == 0;
    uint64_t ino = exists ? (uint64_t)st.st_ino : 0;
    uint64_t size = exists ? (uint64_t)st.st_size : 0;
    uint64_t mt = exists ? (uint64_t)st.st_mtim.tv_sec * 1000000000u +
                               (uint64_t)st.st_mtim.tv_nsec
                         : 0;
    if (ks->seen && ino == ks->ino && size == ks->size && mt == ks->mtime_ns) {
        return 0;
    }
    struct gw_keyent *e;
    size_t n;
    int rv = read_keys(ks->path, &e, &n);
    if (rv != 0) {
        return base_errf(errmsg, rv, "%s: %s", ks->path,
                         rv == BASE_ECORRUPT ? "not a key file"
                                             : base_strerror(rv));
    }
    gw__keys_release(ks);
    ks->ents = e;
    ks->n = n;
    ks->ino = ino;
    ks->size = size;
    ks->mtime_ns = mt;
    ks->seen = true;
    return 0;
}

int gw__keys_load(struct gw_keystore *ks, char *errmsg)
{
    pthread_mutex_lock(&ks->lock);
    int rv = refresh(ks, errmsg);
    pthread_mutex_unlock(&ks->lock);
    return rv;
}

int gw__keys_check(struct gw_keystore *ks, const char *token,
                   struct gw_key *out, struct lg_cert *cert,
                   struct cr_keypair *kp, const char **why)
{
    size_t tl = strlen(token);
    if (tl != GW_KEY_TOKEN_LEN || strncmp(token, "glk_", 4) != 0 ||
        token[4 + GW_KEY_ID_LEN] != '_') {
        *why = "not a gridledger API key (glk_ID_SECRET)";
        return BASE_EPERM;
    }
    if (ks->path == NULL) {
        *why = "this node has no API keys";
        return BASE_EPERM;
    }
    struct cr_hash h;
    cr_sha256(&h, token, tl);
    char errmsg[BASE_ERRMSG_SIZE];
    pthread_mutex_lock(&ks->lock);
    if (refresh(ks, errmsg) != 0) {
        /* Keep serving with the keys read last: a half-edited file must
         * not lock everyone out, nor let a revoked key back in. */
        BASE_WARN("gateway", "%s", errmsg);
    }
    struct gw_keyent *e = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        if (memcmp(ks->ents[i].key.id, token + 4, GW_KEY_ID_LEN) == 0) {
            e = &ks->ents[i];
            break;
        }
    }
    int rv = 0;
    if (e == NULL || cr_memcmp(e->hash, h.b, 32) != 0) {
        *why = "unknown key";
        rv = BASE_EPERM;
    } else if (e->key.revoked) {
        *why = "the key was revoked";
        rv = BASE_EPERM;
    }
    if (rv == 0) {
        *out = e->key;
    }
    if (rv == 0 && cert != NULL) {
        if (!e->loaded) {
            rv = ks->identity != NULL
                     ? ks->identity(ks->identity_arg, e->key.identity, &e->cert,
                                    &e->kp)
                     : BASE_ENOTFOUND;
            e->loaded = rv == 0;
            if (rv != 0) {
                *why = "no key and certificate for the key's identity";
                rv = BASE_ENOTFOUND;
            }
        }
        if (rv == 0) {
            *cert = e->cert;
            *kp = e->kp;
        }
    }
    pthread_mutex_unlock(&ks->lock);
    return rv;
}
