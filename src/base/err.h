/* SPDX-License-Identifier: MIT */
/* The one list of error codes every gridledger function returns. */
#ifndef GL_BASE_ERR_H
#define GL_BASE_ERR_H

/*
 * X(name, value, message). Append new codes at the end and never renumber:
 * codes appear in stored transaction results and in the HTTP API.
 */
#define BASE_ERRNO_MAP(X)                                                      \
    X(ENOMEM, -1, "out of memory")                                             \
    X(EINVAL, -2, "invalid argument")                                          \
    X(ENOTFOUND, -3, "not found")                                              \
    X(EEXIST, -4, "already exists")                                            \
    X(EIO, -5, "input/output error")                                           \
    X(ECORRUPT, -6, "data is corrupt")                                         \
    X(ETOOBIG, -7, "too big")                                                  \
    X(EPARSE, -8, "malformed input")                                           \
    X(EPERM, -9, "permission denied")                                          \
    X(EBADSIG, -10, "bad signature")                                           \
    X(EEXPIRED, -11, "certificate expired or not yet valid")                   \
    X(EUNKNOWNCERT, -12, "unknown certificate issuer")                         \
    X(EREPLAY, -13, "transaction replayed")                                    \
    X(ENOCONTRACT, -14, "unknown contract")                                    \
    X(ENOFUNC, -15, "unknown contract function")                               \
    X(EABORTED, -16, "contract call failed")                                   \
    X(ECLOSED, -17, "closed")                                                  \
    X(ETIMEDOUT, -18, "timed out")                                             \
    X(EFULL, -19, "queue full")                                                \
    X(EBUSY, -20, "busy")                                                      \
    X(ENOCONVERGE, -21, "did not converge")                                    \
    X(ESINGULAR, -22, "singular matrix")                                       \
    X(EUNSUPPORTED, -23, "not supported")                                      \
    X(ENOSPC, -24, "no space left")                                            \
    X(EPANIC, -25, "store refuses writes after a fatal error")                 \
    X(ENOCHANNEL, -26, "unknown channel")                                      \
    X(EARGS, -27, "bad contract arguments")                                    \
    X(ENOTLEADER, -28, "not the cluster leader")

enum base_err {
    BASE_OK = 0,
#define BASE__ERR_ENUM(name, value, msg) BASE_##name = (value),
    BASE_ERRNO_MAP(BASE__ERR_ENUM)
#undef BASE__ERR_ENUM
        BASE__ERR_LAST = -29
};

#endif
