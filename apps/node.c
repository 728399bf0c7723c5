/* SPDX-License-Identifier: MIT */
/* The ledger directory, keys and certificates, the embedded node. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "node.h"

int app_key_write(const char *path, const uint8_t seed[32])
{
    char hex[66];
    base_hex_encode(hex, seed, 32);
    hex[64] = '\n';
    hex[65] = '\0';
    return base_write_file(path, hex, 65);
}

int app_key_read(const char *path, struct cr_keypair *kp)
{
    char *text;
    size_t len;
    int rv = base_read_file(path, 4096, &text, &len);
    if (rv != 0) {
        return rv;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
        text[--len] = '\0';
    }
    uint8_t seed[32];
    rv = base_hex_decode(seed, 32, text);
    base_free(text);
    if (rv == 0) {
        cr_keygen_seed(kp, seed);
        cr_wipe(seed, sizeof seed);
    }
    return rv;
}

int app_member_load(struct app_member *m, const char *dir, const char *who)
{
    char org[LG_NAME_MAX + 1], name[LG_NAME_MAX + 1];
    const char *slash = strchr(who, '/');
    if (slash == NULL || slash == who || slash[1] == '\0' ||
        (size_t)(slash - who) > LG_NAME_MAX ||
        strlen(slash + 1) > LG_NAME_MAX || strchr(slash + 1, '/') != NULL ||
        strstr(who, "..") != NULL) {
        return cmd_fail(2, "identity must be ORG/NAME, not '%s'", who);
    }
    snprintf(org, sizeof org, "%.*s", (int)(slash - who), who);
    snprintf(name, sizeof name, "%s", slash + 1);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/keys/%s/%s.key", dir, org, name);
    int rv = app_key_read(path, &m->key);
    if (rv != 0) {
        return cmd_fail(1, "no key for %s (%s: %s)", who, path,
                        base_strerror(rv));
    }
    snprintf(path, sizeof path, "%s/keys/%s/%s.cert", dir, org, name);
    char *text;
    size_t len;
    rv = base_read_file(path, 4096, &text, &len);
    if (rv != 0) {
        return cmd_fail(1, "no certificate for %s (%s: %s)", who, path,
                        base_strerror(rv));
    }
    while (len > 0 && text[len - 1] == '\n') {
        text[--len] = '\0';
    }
    uint8_t bin[1024];
    struct base_rd r;
    rv = len % 2 == 0 && len / 2 <= sizeof bin
             ? base_hex_decode(bin, len / 2, text)
             : BASE_EPARSE;
    base_free(text);
    if (rv == 0) {
        base_rd_init(&r, bin, len / 2);
        rv = lg_cert_decode(&m->cert, &r);
    }
    if (rv != 0) {
        return cmd_fail(1, "%s: certificate is malformed", path);
    }
    return 0;
}

int app_member_create(const char *dir, const char *org, const char *name,
                      const char *role, unsigned days, struct app_member *out)
{
    char path[PATH_MAX];
    struct cr_keypair root;
    snprintf(path, sizeof path, "%s/keys/%s/root.key", dir, org);
    int rv = app_key_read(path, &root);
    if (rv != 0) {
        return cmd_fail(1, "no root key for organisation %s (%s)", org, path);
    }
    uint8_t seed[32];
    struct cr_keypair kp;
    cr_keygen(&kp);
    memcpy(seed, kp.sk, 32); /* libsodium's secret key starts with the seed */
    struct app_member m;
    memset(&m, 0, sizeof m);
    m.key = kp;
    snprintf(m.cert.org, sizeof m.cert.org, "%s", org);
    snprintf(m.cert.name, sizeof m.cert.name, "%s", name);
    snprintf(m.cert.role, sizeof m.cert.role, "%s", role);
    memcpy(m.cert.pk, kp.pk, CR_PUBKEY_SIZE);
    uint64_t now = base_wall_ns() / 1000000000u;
    m.cert.not_before = now - 60;
    m.cert.expiry = now + (uint64_t)days * 86400u;
    if (lg_cert_sign(&m.cert, &root) != 0) {
        return cmd_fail(2, "bad member name '%s/%s'", org, name);
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    rv = lg_cert_encode(&m.cert, &b);
    char *hex = rv == 0 ? base_malloc(2 * b.len + 2) : NULL;
    if (hex != NULL) {
        base_hex_encode(hex, b.data, b.len);
        strcat(hex, "\n");
        snprintf(path, sizeof path, "%s/keys/%s/%s.cert", dir, org, name);
        rv = base_write_file(path, hex, strlen(hex));
        if (rv == 0) {
            snprintf(path, sizeof path, "%s/keys/%s/%s.key", dir, org, name);
            rv = app_key_write(path, seed);
        }
    } else {
        rv = BASE_ENOMEM;
    }
    base_free(hex);
    base_buf_release(&b);
    cr_wipe(seed, sizeof seed);
    if (rv != 0) {
        return cmd_fail(1, "cannot write member %s/%s: %s", org, name,
                        base_strerror(rv));
    }
    if (out != NULL) {
        *out = m;
    }
    return 0;
}

int app_node_open(struct app_node *n, const char *dir, const char *channel,
                  bool ro)
{
    memset(n, 0, sizeof *n);
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    sc_registry_init(&n->reg);
    if (sc_register_builtin(&n->reg) != 0) {
        return cmd_fail(1, "cannot register contracts");
    }
    struct lg_executor ex = sc_executor(&n->reg);
    char err[BASE_ERRMSG_SIZE];
    struct lg_options opt = {.read_only = ro};
    int rv = lg_open(&n->ledger, dir, &ex, &opt, err);
    if (rv != 0) {
        return cmd_fail(1, "%s: %s", dir, err);
    }
    rv = lg_channel_get(n->ledger, channel ? channel : APP_DEFAULT_CHANNEL,
                        &n->ch);
    if (rv != 0) {
        lg_close(n->ledger);
        n->ledger = NULL;
        return cmd_fail(1, "%s: no channel '%s'", dir,
                        channel ? channel : APP_DEFAULT_CHANNEL);
    }
    return 0;
}

int app_node_start(struct app_node *n, const char *dir,
                   const struct ord_options *opt)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/keys/orderer.key", dir);
    if (app_key_read(path, &n->orderer) != 0) {
        return cmd_fail(1, "%s: cannot read the orderer key", path);
    }
    int rv = ord_solo_start(&n->solo, n->ch, &n->orderer, opt);
    if (rv != 0) {
        return cmd_fail(1, "cannot start ordering: %s", base_strerror(rv));
    }
    return 0;
}

void app_node_close(struct app_node *n)
{
    ord_solo_stop(n->solo);
    n->solo = NULL;
    lg_close(n->ledger);
    n->ledger = NULL;
    cr_wipe(&n->orderer, sizeof n->orderer);
}

const char *app_take_opt(int *argc, char **argv, const char *name)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name) == 0 && i + 1 < *argc) {
            const char *v = argv[i + 1];
            for (int j = i; j + 2 <= *argc; j++) {
                argv[j] = argv[j + 2];
            }
            *argc -= 2;
            return v;
        }
    }
    return NULL;
}

bool app_take_flag(int *argc, char **argv, const char *name)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            for (int j = i; j + 1 <= *argc; j++) {
                argv[j] = argv[j + 1];
            }
            *argc -= 1;
            return true;
        }
    }
    return false;
}

static int mkdir_keys(const char *dir, const char *sub)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/keys%s%s", dir, sub ? "/" : "",
             sub ? sub : "");
    if (base_mkdirs(path, 0700) != 0) {
        return cmd_fail(1, "cannot create %s", path);
    }
    return 0;
}

int app_ledger_create(const char *dir, const char *channel,
                      const struct app_org *orgs, size_t norgs)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) == 0) {
        return cmd_fail(1, "%s already holds a ledger", dir);
    }
    if (norgs > LG_MAX_ORGS) {
        return cmd_fail(1, "at most %d organisations", LG_MAX_ORGS);
    }
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    if (base_mkdirs(dir, 0700) != 0) {
        return cmd_fail(1, "cannot create %s", dir);
    }
    int rv = mkdir_keys(dir, NULL);
    struct lg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.channel, sizeof cfg.channel, "%s", channel);
    cfg.genesis_time = base_wall_ns();
    struct cr_keypair orderer, root;
    cr_keygen(&orderer);
    memcpy(cfg.orderer_pk, orderer.pk, CR_PUBKEY_SIZE);
    snprintf(path, sizeof path, "%s/keys/orderer.key", dir);
    if (rv == 0 && app_key_write(path, orderer.sk) != 0) {
        rv = cmd_fail(1, "cannot write %s", path);
    }
    for (size_t i = 0; rv == 0 && i < norgs; i++) {
        rv = mkdir_keys(dir, orgs[i].name);
        cr_keygen(&root);
        snprintf(path, sizeof path, "%s/keys/%s/root.key", dir, orgs[i].name);
        if (rv == 0 && app_key_write(path, root.sk) != 0) {
            rv = cmd_fail(1, "cannot write %s", path);
        }
        struct lg_org *o = &cfg.orgs[cfg.norgs++];
        snprintf(o->name, sizeof o->name, "%s", orgs[i].name);
        memcpy(o->root_pk, root.pk, CR_PUBKEY_SIZE);
        o->nroles = 1;
        snprintf(o->roles[0], sizeof o->roles[0], "%s", orgs[i].role);
        for (size_t m = 0; rv == 0 && orgs[i].members && orgs[i].members[m];
             m++) {
            rv = app_member_create(dir, orgs[i].name, orgs[i].members[m],
                                   orgs[i].role, 3650, NULL);
        }
    }
    cr_wipe(&root, sizeof root);
    struct app_node n;
    memset(&n, 0, sizeof n);
    sc_registry_init(&n.reg);
    if (rv == 0 && sc_register_builtin(&n.reg) != 0) {
        rv = cmd_fail(1, "cannot register contracts");
    }
    char err[BASE_ERRMSG_SIZE];
    struct lg_executor ex = sc_executor(&n.reg);
    if (rv == 0 && lg_open(&n.ledger, dir, &ex, NULL, err) != 0) {
        rv = cmd_fail(1, "%s: %s", dir, err);
    }
    if (rv == 0 && lg_channel_create(n.ledger, &cfg, &orderer, err) != 0) {
        rv = cmd_fail(1, "%s: %s", dir, err);
    }
    lg_close(n.ledger);
    cr_wipe(&orderer, sizeof orderer);
    return rv;
}

/* DIR/config.json as a JSON object (a new empty one when the file is
 * missing), or NULL after printing why. */
static json_t *config_load(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" APP_CONFIG_FILE, dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        return json_object();
    }
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (o == NULL) {
        cmd_fail(1, "%s: line %d: %s", path, je.line, je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        cmd_fail(1, "%s: not a JSON object", path);
        return NULL;
    }
    return o;
}

int app_config_get(const char *dir, const char *key, const char *dflt,
                   char *val, size_t size)
{
    json_t *o = config_load(dir);
    if (o == NULL) {
        return 1;
    }
    json_t *v = json_object_get(o, key);
    const char *s = v ? json_string_value(v) : dflt;
    int rv = 0;
    if (s == NULL) {
        rv = cmd_fail(1, "%s/" APP_CONFIG_FILE ": \"%s\" must be a string", dir,
                      key);
    } else if (strlen(s) >= size) {
        rv =
            cmd_fail(1, "%s/" APP_CONFIG_FILE ": \"%s\" is too long", dir, key);
    } else {
        snprintf(val, size, "%s", s);
    }
    json_decref(o);
    return rv;
}

int app_config_set(const char *dir, const char *key, const char *val)
{
    json_t *o = config_load(dir);
    if (o == NULL) {
        return 1;
    }
    char *text = NULL;
    if (json_object_set_new(o, key, json_string(val)) == 0) {
        char *dump = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        size_t n = dump ? strlen(dump) : 0;
        text = dump ? realloc(dump, n + 2) : NULL;
        if (text != NULL) {
            memcpy(text + n, "\n", 2);
        } else {
            free(dump);
        }
    }
    json_decref(o);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" APP_CONFIG_FILE, dir);
    /* base_write_file: a temp file, fsync, rename, mode 0600. */
    int rv = text ? base_write_file(path, text, strlen(text)) : BASE_ENOMEM;
    free(text);
    if (rv != 0) {
        return cmd_fail(1, "cannot write %s: %s", path, base_strerror(rv));
    }
    return 0;
}

int app_offchain_check(const char *dir, const char *spec)
{
    struct kv_offchain *s;
    char err[BASE_ERRMSG_SIZE];
    if (kv_offchain_open_uri(&s, spec, dir, err) != 0) {
        return cmd_fail(1, "off-chain store: %s", err);
    }
    kv_offchain_close(s);
    return 0;
}

int app_offchain_open(const char *dir, struct kv_offchain **out)
{
    char spec[4096], err[BASE_ERRMSG_SIZE];
    int rv = app_config_get(dir, "offchain", APP_OFFCHAIN_DEFAULT, spec,
                            sizeof spec);
    if (rv != 0) {
        return rv;
    }
    if (kv_offchain_open_uri(out, spec, dir, err) != 0) {
        return cmd_fail(1, "%s: off-chain store: %s", dir, err);
    }
    return 0;
}
