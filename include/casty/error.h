/*
 * Error codes. Every fallible Casty call returns 0 (or a non-negative count)
 * on success and a negative errno on failure; nothing writes the global errno.
 * Standard errno values are used wherever one fits; Casty-only codes live in
 * the reserved range -4000 .. -4095.
 */
#ifndef CASTY_ERROR_H
#define CASTY_ERROR_H

#include <errno.h>
#include "casty/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Casty-only codes (negated when returned). */
#define CASTY_EDEAD    4001 /* the target actor is stopped (dead letter) */
#define CASTY_ECRASHED 4002 /* the actor crashed while handling the message asked */
#define CASTY_ENOREPLY 4003 /* the asked actor finished the message without replying */

/* X(name, value, message): every code a Casty call can return, once. */
#define CASTY_ERRNO_MAP(X)                                                \
    X(EINVAL, EINVAL, "invalid argument")                                 \
    X(ENOMEM, ENOMEM, "out of memory")                                    \
    X(EEXIST, EEXIST, "an actor with that name already exists")           \
    X(ENOENT, ENOENT, "no actor with that name")                          \
    X(ETIMEDOUT, ETIMEDOUT, "timed out")                                  \
    X(EAGAIN, EAGAIN, "mailbox or queue full, try again")                 \
    X(ESHUTDOWN, ESHUTDOWN, "the system is stopped or stopping")          \
    X(ECANCELED, ECANCELED, "canceled")                                   \
    X(EMSGSIZE, EMSGSIZE, "message larger than the configured maximum")   \
    X(ENAMETOOLONG, ENAMETOOLONG, "actor name too long")                  \
    X(EBADMSG, EBADMSG, "malformed message")                              \
    X(EPROTO, EPROTO, "protocol error")                                   \
    X(ENOSYS, ENOSYS, "not supported by this kernel")                     \
    X(EBUSY, EBUSY, "resource busy")                                      \
    X(EDEADLK, EDEADLK, "the call would deadlock its own shard")          \
    X(EMFILE, EMFILE, "too many systems or open files")                   \
    X(EPROTOTYPE, EPROTOTYPE, "the actor speaks another protocol")        \
    X(ENOSPC, ENOSPC, "output buffer or table too small")                 \
    X(EILSEQ, EILSEQ, "checksum mismatch")                                \
    X(ENOTCONN, ENOTCONN, "not connected to that node")                   \
    X(ECONNREFUSED, ECONNREFUSED, "connection refused")                   \
    X(EBADF, EBADF, "no such handle")                                     \
    X(EPIPE, EPIPE, "the connection is closed")                           \
    X(EDEAD, CASTY_EDEAD, "the target actor is stopped")                  \
    X(ECRASHED, CASTY_ECRASHED, "the actor crashed handling the message") \
    X(ENOREPLY, CASTY_ENOREPLY, "the actor finished without replying")

/* A message for a negative (or positive) code; "unknown error" otherwise. Any thread. */
CASTY_API const char *casty_strerror(int err);

/* The symbolic name ("ETIMEDOUT", "EDEAD") of a code, or "UNKNOWN". Any thread. */
CASTY_API const char *casty_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
