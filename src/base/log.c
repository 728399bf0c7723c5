/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr, as text or JSON lines. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

static atomic_int log_level = -1; /* -1: not yet read from the environment */
static atomic_bool log_json = false;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

void base_log_set_level(enum base_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum base_log_level base_log_get_level(void)
{
    int l = atomic_load(&log_level);
    if (l >= 0) {
        return (enum base_log_level)l;
    }
    l = BASE_LOG_WARN;
    const char *env = getenv("GRIDLEDGER_LOG");
    if (env != NULL) {
        for (int i = 0; i <= BASE_LOG_OFF; i++) {
            if (strcmp(env, level_names[i]) == 0) {
                l = i;
            }
        }
    }
    atomic_store(&log_level, l);
    return (enum base_log_level)l;
}

void base_log_set_json(bool json)
{
    atomic_store(&log_json, json);
}

static void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
}

void base_log(enum base_log_level level, const char *mod, const char *fmt, ...)
{
    if (level < base_log_get_level() || level >= BASE_LOG_OFF) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    if (atomic_load(&log_json)) {
        fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"mod\":\"",
                when, ts.tv_nsec / 1000000, level_names[level]);
        json_escape(stderr, mod);
        fputs("\",\"msg\":\"", stderr);
        json_escape(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", when, ts.tv_nsec / 1000000,
                level_names[level], mod, msg);
    }
    pthread_mutex_unlock(&log_lock);
}
