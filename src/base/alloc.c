/* SPDX-License-Identifier: MIT */
/* Allocation wrappers with fault injection for tests. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* Fault injection state: -1 means off. Atomics keep helgrind/tsan quiet when
 * worker threads allocate while a test flips injection. */
static atomic_int fault_delay = -1;
static atomic_int fault_repeat = 0;

void base_alloc_fault(int delay, int repeat)
{
    atomic_store(&fault_repeat, repeat);
    atomic_store(&fault_delay, delay);
}

static bool should_fail(void)
{
    int d = atomic_load(&fault_delay);
    if (d < 0) {
        return false;
    }
    if (d > 0) {
        atomic_fetch_sub(&fault_delay, 1);
        return false;
    }
    int r = atomic_load(&fault_repeat);
    if (r == 0) {
        atomic_store(&fault_delay, -1);
        return false;
    }
    if (r > 0) {
        atomic_fetch_sub(&fault_repeat, 1);
    }
    return true;
}

void *base_malloc(size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(size == 0 ? 1 : size);
}

void *base_calloc(size_t n, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
}

void *base_realloc(void *ptr, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(ptr, size == 0 ? 1 : size);
}

void base_free(void *ptr)
{
    free(ptr);
}

char *base_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = base_malloc(len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *base_strdup(const char *s)
{
    return base_strndup(s, strlen(s));
}
