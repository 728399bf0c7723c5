/* SPDX-License-Identifier: MIT */
/* Reading a market-day scenario (docs/scenario.md). */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"

int sim__bad(char *errmsg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, BASE_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
    return BASE_EINVAL;
}

int sim__num(json_t *o, const char *key, double lo, double hi, double *out,
             const char *where, char *errmsg)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        return 0;
    }
    double d = json_number_value(v);
    if (!json_is_number(v) || !isfinite(d) || d < lo || d > hi) {
        snprintf(errmsg, BASE_ERRMSG_SIZE, "%s.%s must be a number in [%g, %g]",
                 where, key, lo, hi);
        return BASE_EINVAL;
    }
    *out = d;
    return 0;
}

int sim__write_json(const char *dir, const char *name, json_t *o, char *errmsg)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (o == NULL || json_dump_file(o, path,
                                    JSON_INDENT(1) | JSON_REAL_PRECISION(8) |
                                        JSON_PRESERVE_ORDER) != 0) {
        if (errmsg[0] == '\0') {
            snprintf(errmsg, BASE_ERRMSG_SIZE, "cannot write %s", path);
        }
        return BASE_EIO;
    }
    return 0;
}

int sim__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int str(json_t *o, const char *key, char *out, size_t size,
               bool required, const char *where, char *errmsg)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL && !required) {
        return 0;
    }
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0' || strlen(s) >= size) {
        snprintf(errmsg, BASE_ERRMSG_SIZE,
                 "%s.%s must be a string of 1..%zu characters", where, key,
                 size - 1);
        return BASE_EINVAL;
    }
    snprintf(out, size, "%s", s);
    return 0;
}

static int hourly(json_t *a, double out[24], const char *where, char *errmsg)
{
    if (!json_is_array(a) || json_array_size(a) != 24) {
        return sim__bad(errmsg, "%s must be an array of 24 hourly values",
                        where);
    }
    for (size_t i = 0; i < 24; i++) {
        json_t *v = json_array_get(a, i);
        out[i] = json_number_value(v);
        if (!json_is_number(v) || !isfinite(out[i]) || out[i] < 0) {
            return sim__bad(
                errmsg, "%s holds a value that is not a number >= 0", where);
        }
    }
    return 0;
}

static void resolve(char *out, size_t size, const char *scenario,
                    const char *rel)
{
    const char *slash = strrchr(scenario, '/');
    if (rel[0] == '/' || slash == NULL) {
        snprintf(out, size, "%s", rel);
    } else {
        snprintf(out, size, "%.*s/%s", (int)(slash - scenario), scenario, rel);
    }
}

static int find_profile(const struct sim_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nprofiles; i++) {
        if (strcmp(sc->profiles[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int load_profiles(struct sim_scenario *sc, json_t *root, char *errmsg)
{
    json_t *p = json_object_get(root, "load_profiles");
    if (p == NULL) {
        return 0;
    }
    if (!json_is_object(p) || json_object_size(p) > SIM_MAX_PROFILES) {
        return sim__bad(errmsg, "%s must be an object of at most 16 profiles",
                        "load_profiles");
    }
    const char *name;
    json_t *v;
    json_object_foreach(p, name, v)
    {
        struct sim_profile *pr = &sc->profiles[sc->nprofiles++];
        if (strlen(name) == 0 || strlen(name) > SIM_NAME_MAX) {
            return sim__bad(errmsg, "%s: profile names are 1..31 characters",
                            "load_profiles");
        }
        snprintf(pr->name, sizeof pr->name, "%s", name);
        char where[64];
        snprintf(where, sizeof where, "load_profiles.%s", name);
        int rv = hourly(v, pr->hourly, where, errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int load_customers(struct sim_scenario *sc, json_t *root, char *errmsg)
{
    char def[SIM_NAME_MAX + 1] = "";
    int rv = str(root, "default_profile", def, sizeof def, false, "scenario",
                 errmsg);
    if (rv != 0) {
        return rv;
    }
    sc->default_profile = def[0] ? find_profile(sc, def) : -1;
    if (def[0] && sc->default_profile < 0) {
        return sim__bad(errmsg, "default_profile '%s' is not in load_profiles",
                        def);
    }
    json_t *a = json_object_get(root, "customers");
    if (a == NULL) {
        return 0;
    }
    if (!json_is_array(a) || json_array_size(a) > SIM_MAX_CUSTOMERS) {
        return sim__bad(errmsg, "%s must be an array of at most 256 customers",
                        "customers");
    }
    size_t i;
    json_t *c;
    json_array_foreach(a, i, c)
    {
        struct sim_customer *cu = &sc->customers[sc->ncustomers++];
        char where[32], prof[SIM_NAME_MAX + 1];
        snprintf(where, sizeof where, "customers[%zu]", i);
        cu->scale = 1.0;
        cu->noise = 0.0;
        rv = str(c, "load", cu->load, sizeof cu->load, true, where, errmsg);
        rv =
            rv ? rv : str(c, "profile", prof, sizeof prof, true, where, errmsg);
        rv = rv ? rv : sim__num(c, "scale", 0, 100, &cu->scale, where, errmsg);
        rv = rv ? rv : sim__num(c, "noise", 0, 1, &cu->noise, where, errmsg);
        if (rv != 0) {
            return rv;
        }
        cu->profile = find_profile(sc, prof);
        if (cu->profile < 0) {
            snprintf(errmsg, BASE_ERRMSG_SIZE,
                     "%s.profile '%s' is not in load_profiles", where, prof);
            return BASE_EINVAL;
        }
    }
    return 0;
}

static bool known_dera(const struct sim_scenario *sc, const char *org)
{
    for (size_t i = 0; i < sc->nderas; i++) {
        if (strcmp(sc->deras[i], org) == 0) {
            return true;
        }
    }
    return false;
}

/* The contracts' identifier rule (docs/ledger-format.md section 11),
 * checked when the scenario is read: a clear error naming the field
 * instead of a refused registration halfway through the run. */
static int canonical(const char *s, const char *where, const char *field,
                     char *errmsg)
{
    char why[192];
    if (sc_id_check(s, strlen(s), why, sizeof why) != 0) {
        return sim__bad(errmsg, "%s.%s %s", where, field, why);
    }
    return 0;
}

static int load_ders(struct sim_scenario *sc, json_t *root, char *errmsg)
{
    json_t *a = json_object_get(root, "deras");
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > SIM_MAX_DERAS) {
        return sim__bad(errmsg, "%s must name 1..16 aggregator organisations",
                        "deras");
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        /* Organisation names that differ only in case would be two
         * look-alike organisations in the channel: a repeat. */
        bool repeat = false;
        for (size_t j = 0; s != NULL && j < sc->nderas; j++) {
            repeat = repeat || strcasecmp(sc->deras[j], s) == 0;
        }
        if (s == NULL || s[0] == '\0' || strlen(s) > LG_NAME_MAX ||
            strchr(s, '/') != NULL || repeat) {
            return sim__bad(errmsg,
                            "%s holds a bad or repeated organisation name",
                            "deras");
        }
        snprintf(sc->deras[sc->nderas++], LG_NAME_MAX + 1, "%s", s);
    }
    a = json_object_get(root, "ders");
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > SIM_MAX_DERS) {
        return sim__bad(errmsg, "%s must be an array of 1..256 DERs", "ders");
    }
    json_array_foreach(a, i, v)
    {
        struct sim_der *d = &sc->ders[sc->nders++];
        char where[32];
        snprintf(where, sizeof where, "ders[%zu]", i);
        memset(d, 0, sizeof *d);
        d->der.rf = 10;
        d->der.cap = 1000;
        d->variability = 0.3;
        d->qualified_kw = -1;
        int rv = str(v, "id", d->der.id, sizeof d->der.id, true, where, errmsg);
        rv = rv ? rv
                : str(v, "dera", d->dera, sizeof d->dera, true, where, errmsg);
        rv = rv ? rv
                : str(v, "bus", d->der.bus, sizeof d->der.bus, true, where,
                      errmsg);
        snprintf(d->der.phases, sizeof d->der.phases, "abc");
        memcpy(d->der.owner, "owner-", 7);
        memcpy(d->der.owner + 6, d->der.id, strlen(d->der.id) + 1);
        rv = rv ? rv
                : str(v, "phases", d->der.phases, sizeof d->der.phases, false,
                      where, errmsg);
        rv = rv ? rv
                : str(v, "owner", d->der.owner, sizeof d->der.owner, false,
                      where, errmsg);
        rv = rv ? rv : sim__num(v, "kw", 0.001, 1e6, &d->der.kw, where, errmsg);
        d->der.kva = d->der.kw * 1.1;
        rv =
            rv ? rv
               : sim__num(v, "kva", d->der.kw, 1e6, &d->der.kva, where, errmsg);
        rv = rv ? rv : sim__num(v, "rf", 0, 1000, &d->der.rf, where, errmsg);
        rv = rv ? rv : sim__num(v, "cap", 0, 1e6, &d->der.cap, where, errmsg);
        rv = rv ? rv
                : sim__num(v, "variability", 0, 1, &d->variability, where,
                           errmsg);
        rv = rv ? rv
                : sim__num(v, "qualified_kw", 0, d->der.kw, &d->qualified_kw,
                           where, errmsg);
        if (rv != 0) {
            return rv;
        }
        if (json_object_get(v, "kw") == NULL) {
            return sim__bad(errmsg, "%s.kw is required", where);
        }
        if (d->qualified_kw < 0) {
            d->qualified_kw = d->der.kw;
        }
        /* Each DER its own weather, the same every run of the scenario. */
        mk_weather_init(&d->der.weather,
                        sc->seed * 1000003u + (uint64_t)i * 7919u + 1,
                        d->variability);
        if (!known_dera(sc, d->dera)) {
            snprintf(errmsg, BASE_ERRMSG_SIZE,
                     "%s.dera '%s' is not one of the scenario's deras", where,
                     d->dera);
            return BASE_EINVAL;
        }
        rv = canonical(d->der.id, where, "id", errmsg);
        rv = rv ? rv : canonical(d->der.bus, where, "bus", errmsg);
        rv = rv ? rv : canonical(d->der.owner, where, "owner", errmsg);
        if (rv != 0) {
            return rv;
        }
        for (size_t j = 0; j + 1 < sc->nders; j++) {
            if (strcmp(sc->ders[j].der.id, d->der.id) == 0) {
                return sim__bad(errmsg, "%s.id repeats an earlier DER", where);
            }
        }
    }
    return 0;
}

static int load_rest(struct sim_scenario *sc, json_t *root, char *errmsg)
{
    double seed = 1;
    int rv = sim__num(root, "seed", 0, 9007199254740991.0, &seed, "scenario",
                      errmsg);
    sc->seed = (uint64_t)seed;
    snprintf(sc->name, sizeof sc->name, "market day");
    rv = rv ? rv
            : str(root, "name", sc->name, sizeof sc->name, false, "scenario",
                  errmsg);
    char feeder[512] = "";
    rv = rv ? rv
            : str(root, "feeder", feeder, sizeof feeder, true, "scenario",
                  errmsg);
    if (rv != 0) {
        return rv;
    }
    resolve(sc->feeder, sizeof sc->feeder, sc->path, feeder);
    json_t *cmds = json_object_get(root, "feeder_commands");
    if (cmds != NULL) {
        if (!json_is_array(cmds)) {
            return sim__bad(errmsg, "%s must be an array of OpenDSS lines",
                            "feeder_commands");
        }
        struct base_buf b;
        base_buf_init(&b, 1 << 20);
        size_t i;
        json_t *v;
        json_array_foreach(cmds, i, v)
        {
            const char *line = json_string_value(v);
            if (line == NULL) {
                base_buf_release(&b);
                return sim__bad(errmsg, "%s holds a value that is not a string",
                                "feeder_commands");
            }
            rv = base_buf_printf(&b, "%s\n", line);
            if (rv != 0) {
                base_buf_release(&b);
                return rv;
            }
        }
        if (base_buf_terminate(&b) != 0) {
            base_buf_release(&b);
            return BASE_ENOMEM;
        }
        sc->feeder_commands = (char *)base_buf_take(&b, NULL);
    }
    json_t *lim = json_object_get(root, "limits");
    sc->vmin = 0.95;
    sc->vmax = 1.05;
    rv = sim__num(lim, "vmin", 0.5, 1.5, &sc->vmin, "limits", errmsg);
    rv = rv ? rv : sim__num(lim, "vmax", 0.5, 1.5, &sc->vmax, "limits", errmsg);
    if (rv == 0 && sc->vmin >= sc->vmax) {
        rv = sim__bad(errmsg, "%s: vmin must be below vmax", "limits");
    }
    json_t *skip = json_object_get(root, "unmonitored_buses");
    if (rv == 0 && skip != NULL) {
        if (!json_is_array(skip) || json_array_size(skip) > SIM_MAX_SKIP) {
            return sim__bad(errmsg, "%s must be an array of at most 16 buses",
                            "unmonitored_buses");
        }
        size_t i;
        json_t *v;
        json_array_foreach(skip, i, v)
        {
            const char *s = json_string_value(v);
            if (s == NULL || strlen(s) > SC_TEXT_MAX) {
                return sim__bad(errmsg, "%s holds a bad bus name",
                                "unmonitored_buses");
            }
            char *d = sc->skip[sc->nskip++];
            size_t k = 0;
            for (; s[k]; k++) {
                d[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]);
            }
            d[k] = '\0';
        }
    }
    json_t *mk = json_object_get(root, "market");
    snprintf(sc->market, sizeof sc->market, "rt");
    double imin = 15, n = 96;
    rv = rv ? rv
            : str(mk, "name", sc->market, sizeof sc->market, false, "market",
                  errmsg);
    rv = rv ? rv : canonical(sc->market, "market", "name", errmsg);
    rv = rv ? rv : sim__num(mk, "interval_min", 1, 60, &imin, "market", errmsg);
    rv = rv ? rv : sim__num(mk, "intervals", 1, 1440, &n, "market", errmsg);
    if (rv != 0) {
        return rv;
    }
    sc->interval_min = (int)imin;
    sc->intervals = (int)n;
    if (imin != sc->interval_min || n != sc->intervals ||
        sc->interval_min * sc->intervals > 1440) {
        return sim__bad(errmsg, "%s: whole minutes, at most one day in all",
                        "market.interval_min x market.intervals");
    }
    if (strchr(sc->market, '/') != NULL) {
        return sim__bad(errmsg, "%s may not contain '/'", "market.name");
    }
    json_t *pf = json_object_get(mk, "price_forecast");
    if (pf == NULL) {
        return sim__bad(errmsg, "%s is required (24 hourly $/MWh)",
                        "market.price_forecast");
    }
    rv = hourly(pf, sc->price_forecast, "market.price_forecast", errmsg);
    json_t *dso = json_object_get(root, "dso");
    char method[32] = "proportional";
    rv = rv ? rv
            : str(dso, "method", method, sizeof method, false, "dso", errmsg);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(method, "proportional") == 0) {
        sc->dso_method = MK_DSO_PROPORTIONAL;
    } else if (strcmp(method, "sensitivity") == 0) {
        sc->dso_method = MK_DSO_SENSITIVITY;
    } else {
        return sim__bad(errmsg,
                        "dso.method '%s' is not proportional or sensitivity",
                        method);
    }
    json_t *iso = json_object_get(root, "iso");
    char mode[32] = "all";
    sc->price_cap = 1000;
    rv = str(iso, "mode", mode, sizeof mode, false, "iso", errmsg);
    rv = rv ? rv
            : sim__num(iso, "demand_kw", 0, 1e9, &sc->demand_kw, "iso", errmsg);
    rv = rv ? rv
            : sim__num(iso, "price_cap", 0, 1e9, &sc->price_cap, "iso", errmsg);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(mode, "all") == 0) {
        sc->iso_mode = MK_ISO_ALL;
    } else if (strcmp(mode, "merit") == 0) {
        sc->iso_mode = MK_ISO_MERIT;
    } else {
        return sim__bad(errmsg, "iso.mode '%s' is not all or merit", mode);
    }
    double ri = -1;
    rv = sim__num(json_object_get(root, "report"), "interval", -1,
                  sc->intervals - 1, &ri, "report", errmsg);
    sc->report_interval = (int)ri;
    json_t *lg = json_object_get(root, "ledger");
    snprintf(sc->channel, sizeof sc->channel, "energy");
    double btx = 2000, bus = 0;
    rv = rv ? rv
            : str(lg, "channel", sc->channel, sizeof sc->channel, false,
                  "ledger", errmsg);
    rv = rv ? rv
            : sim__num(lg, "block_tx", 1, LG_BLOCK_MAX_TX, &btx, "ledger",
                       errmsg);
    rv = rv ? rv : sim__num(lg, "batch_us", 0, 1e7, &bus, "ledger", errmsg);
    sc->block_tx = (unsigned)btx;
    sc->batch_us = (uint64_t)bus;
    return rv;
}

int sim_scenario_load(struct sim_scenario *sc, const char *path, char *errmsg)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->path, sizeof sc->path, "%s", path);
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        snprintf(errmsg, BASE_ERRMSG_SIZE, "%s:%d:%d: %s", path, err.line,
                 err.column, err.text);
        return err.line <= 0 ? BASE_ENOTFOUND : BASE_EPARSE;
    }
    int rv =
        json_is_object(root)
            ? 0
            : sim__bad(errmsg, "%s: the scenario must be a JSON object", path);
    rv = rv ? rv : load_rest(sc, root, errmsg);
    rv = rv ? rv : load_profiles(sc, root, errmsg);
    rv = rv ? rv : load_customers(sc, root, errmsg);
    rv = rv ? rv : load_ders(sc, root, errmsg);
    json_decref(root);
    if (rv != 0) {
        sim_scenario_release(sc);
    }
    return rv;
}

void sim_scenario_release(struct sim_scenario *sc)
{
    base_free(sc->feeder_commands);
    sc->feeder_commands = NULL;
}

int sim_scenario_kind(const char *path, char *out, size_t size, char *errmsg)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (root == NULL) {
        snprintf(errmsg, BASE_ERRMSG_SIZE, "%s:%d:%d: %s", path, err.line,
                 err.column, err.text);
        return err.line <= 0 ? BASE_ENOTFOUND : BASE_EPARSE;
    }
    const char *k = json_string_value(json_object_get(root, "kind"));
    snprintf(out, size, "%s", k ? k : "der-market");
    json_decref(root);
    return 0;
}
