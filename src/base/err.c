/* SPDX-License-Identifier: MIT */
/* Error code names and messages. */
#include <stdio.h>

#include "base/base.h"

const char *base_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define BASE__ERR_MSG(name, value, msg)                                        \
    case value:                                                                \
        return msg;
        BASE_ERRNO_MAP(BASE__ERR_MSG)
#undef BASE__ERR_MSG
    default:
        return "unknown error";
    }
}

const char *base_errname(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define BASE__ERR_NAME(name, value, msg)                                       \
    case value:                                                                \
        return #name;
        BASE_ERRNO_MAP(BASE__ERR_NAME)
#undef BASE__ERR_NAME
    default:
        return "EUNKNOWN";
    }
}

int base_errf(char *errmsg, int code, const char *fmt, ...)
{
    va_list ap;
    if (errmsg != NULL) {
        va_start(ap, fmt);
        vsnprintf(errmsg, BASE_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return code;
}
