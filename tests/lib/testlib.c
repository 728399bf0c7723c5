/* SPDX-License-Identifier: MIT */
/* Shared helpers for the cmocka test executables. */
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

void tl_tmpdir(char *out, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, PATH_MAX, "%s/gl-%s-XXXXXX", tmp ? tmp : "/tmp", tag);
    assert_non_null(mkdtemp(out));
}

void tl_rmrf(const char *path)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", path);
    }
}

void tl_source_path(char *out, const char *rel)
{
    const char *src = getenv("GL_SOURCE_DIR");
    snprintf(out, PATH_MAX, "%s/%s", src ? src : ".", rel);
}

const char *tl_binary(void)
{
    const char *b = getenv("GL_BINARY");
    return b ? b : "./gridledger";
}

int tl_run(char *out, size_t outsize, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    size_t n = 0;
    char tmp[4096];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out != NULL && n + 1 < outsize) {
            size_t take = got < outsize - 1 - n ? got : outsize - 1 - n;
            memcpy(out + n, tmp, take);
            n += take;
        }
    }
    if (out != NULL && outsize > 0) {
        out[n] = '\0';
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tl_free_port(void)
{
    static unsigned seed;
    if (seed == 0) {
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    }
    for (;;) {
        int port = 20000 + (int)((unsigned)rand_r(&seed) % 12000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        int rv = bind(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (rv == 0) {
            return port;
        }
    }
}
