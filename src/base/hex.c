/* SPDX-License-Identifier: MIT */
/* Hex encoding, number parsing and whole-file helpers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

void base_hex_encode(char *out, const void *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int base_hex_decode(void *out, size_t n, const char *hex)
{
    if (strlen(hex) != 2 * n) {
        return BASE_EPARSE;
    }
    uint8_t *p = out;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return BASE_EPARSE;
        }
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int base_parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0') {
        return BASE_EPARSE;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return BASE_EPARSE;
    }
    *out = v;
    return 0;
}

int base_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == '-') {
        return BASE_EPARSE;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return BASE_EPARSE;
    }
    *out = v;
    return 0;
}

int base_parse_double(const char *s, double *out)
{
    char *end;
    if (s == NULL || *s == '\0') {
        return BASE_EPARSE;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) {
        return BASE_EPARSE;
    }
    *out = v;
    return 0;
}

int base_read_file(const char *path, size_t limit, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? BASE_ENOTFOUND : BASE_EIO;
    }
    struct base_buf b;
    base_buf_init(&b, limit);
    int rv = 0;
    for (;;) {
        rv = base_buf_reserve(&b, 65536);
        if (rv != 0 && b.limit != 0 && b.len < b.limit) {
            rv = base_buf_reserve(&b, b.limit - b.len);
        }
        if (rv != 0) {
            break;
        }
        size_t room = b.cap - b.len - 1;
        ssize_t n = read(fd, b.data + b.len, room);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rv = BASE_EIO;
            break;
        }
        if (n == 0) {
            break;
        }
        b.len += (size_t)n;
        if (b.limit != 0 && b.len >= b.limit) {
            /* One more byte would exceed the limit: probe for it. */
            char c;
            ssize_t m = read(fd, &c, 1);
            if (m > 0) {
                rv = BASE_ETOOBIG;
            }
            break;
        }
    }
    close(fd);
    if (rv == 0) {
        rv = base_buf_terminate(&b);
    }
    if (rv != 0) {
        base_buf_release(&b);
        return rv;
    }
    *len = b.len;
    *out = (char *)base_buf_take(&b, NULL);
    return 0;
}

int base_write_file(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        return BASE_EINVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return BASE_EIO;
    }
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return errno == ENOSPC ? BASE_ENOSPC : BASE_EIO;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return BASE_EIO;
    }
    return 0;
}

int base_mkdirs(const char *path, unsigned mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        return BASE_EINVAL;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
                return BASE_EIO;
            }
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return BASE_EIO;
    }
    return 0;
}
