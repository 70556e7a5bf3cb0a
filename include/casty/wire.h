/*
 * Wire codec for messages: turns a CASTY_MESSAGE struct into bytes another
 * node can turn back into the same struct, whatever its compiler's padding
 * or byte order. Sans-I/O, allocation-free and pure: encode, decode and
 * lookups may be called from any thread (a registry only once its adds are
 * done; see casty_wire_registry_add).
 *
 * Declaring the schema (C only: the kinds are inferred with _Generic), at
 * file scope, after the structs and the protocol:
 *
 *     CASTY_MESSAGE(Move, int32_t dx; int32_t dy; char label[16]);
 *     CASTY_MESSAGE(Stop);
 *     CASTY_PROTOCOL(RobotMsg, Move, Stop);
 *
 *     CASTY_WIRE_MESSAGE(Move, dx, dy, label);
 *     CASTY_WIRE_MESSAGE(Stop);
 *     CASTY_WIRE_PROTOCOL(RobotMsg, Move, Stop);
 *
 * List every field, in declaration order (an unlisted field is not sent and
 * arrives zeroed). A field's kind follows from its C type:
 *
 *   integers (char, short, int, long, long long, signed or unsigned, and the
 *   <stdint.h> names for them)        INT / UINT  width = sizeof
 *   bool                              BOOL        1 byte, 0 or 1
 *   float, double                     FLOAT       IEEE-754 bits, 4 or 8 bytes
 *   char name[N]                      STR         NUL-terminated text
 *   unsigned char / uint8_t name[N]   BYTES       opaque bytes
 *   casty_ref                         REF         (a typed P_ref: store its .raw)
 *
 * Anything else (pointers, nested structs, other arrays, const fields, bit
 * fields) does not compile; for the first three the diagnostic names
 * casty_wire_unsupported_field_type. Arrays are limited to 65535 bytes, a
 * message to 64 fields. CASTY_WIRE_PROTOCOL must list exactly the messages
 * of the protocol (checked at compile time) and must see the CASTY_PROTOCOL
 * and each message's CASTY_WIRE_MESSAGE, which are static to their file.
 *
 * Wire format of a message: its fields, in the listed order, back to back,
 * with no padding, no field tags and no count (the schema is the contract):
 *
 *   INT, UINT, FLOAT  the value's bytes, little-endian, sizeof(field) bytes
 *   BOOL              u8: 0 or 1 (anything else is rejected)
 *   STR               u16 length, then the bytes before the NUL (length <
 *                     sizeof(field); no NUL inside)
 *   BYTES             u16 length, then the bytes with trailing zero bytes
 *                     trimmed (length <= sizeof(field); the last byte sent is
 *                     nonzero); the receiver zero-fills the rest
 *   REF               24 bytes: u16 node, u16 shard, u8 kind, 3 zero bytes,
 *                     u32 gen, u32 system, u64 addr
 *
 * Every field has exactly one encoding, so decode accepts only what encode
 * produces: encode(decode(bytes)) == bytes for every accepted input. A
 * message is identified on the wire by (casty_wire_protocol_id, CASTY_ID).
 */
#ifndef CASTY_WIRE_H
#define CASTY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/message.h"
#include "casty/pp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a field is encoded (see the table above). */
typedef enum casty_wire_kind {
    CASTY_WIRE_INT = 1,   /* signed integer, 1, 2, 4 or 8 bytes */
    CASTY_WIRE_UINT = 2,  /* unsigned integer, 1, 2, 4 or 8 bytes */
    CASTY_WIRE_BOOL = 3,  /* bool, 1 byte */
    CASTY_WIRE_FLOAT = 4, /* float or double */
    CASTY_WIRE_STR = 5,   /* char[N]: NUL-terminated text */
    CASTY_WIRE_BYTES = 6, /* unsigned char[N]: bytes, trailing zeros trimmed */
    CASTY_WIRE_REF = 7,   /* casty_ref */
} casty_wire_kind;

#define CASTY_WIRE_REF_LEN      24u    /* bytes of a REF on the wire */
#define CASTY_WIRE_ARRAY_MAX    65535u /* largest STR or BYTES field, in bytes */
#define CASTY_WIRE_FIELDS_MAX   4096u  /* fields per message (the macro stops at 64) */
#define CASTY_WIRE_MSGS_MAX     256u   /* messages per protocol */
#define CASTY_WIRE_REGISTRY_MAX 256u   /* protocols per registry */

/* One field of a message; filled in by CASTY_WIRE_MESSAGE. */
typedef struct casty_wire_field {
    const char *name; /* as written in the struct */
    uint32_t offset;  /* offsetof(message, field) */
    uint32_t size;    /* sizeof(field) */
    uint8_t kind;     /* casty_wire_kind */
} casty_wire_field;

/* The schema of one message struct; defined by CASTY_WIRE_MESSAGE. */
typedef struct casty_wire_msg {
    const char *name;
    const casty_wire_field *fields; /* NULL for a message without fields */
    uint32_t nfields;
    uint32_t size; /* sizeof(message) */
} casty_wire_msg;

/* A message of a protocol: its CASTY_ID and its schema. */
typedef struct casty_wire_entry {
    uint32_t type;
    const casty_wire_msg *msg;
} casty_wire_entry;

/* A protocol's schemas; defined by CASTY_WIRE_PROTOCOL. */
typedef struct casty_wire_protocol {
    const char *name;
    uint32_t nmsgs;
    const casty_wire_entry *msgs;
} casty_wire_protocol;

/*
 * Ref translation, so that the cluster layer can map a local ref to its wire
 * form and back (node ids, for one). `out` runs on encode with *wire
 * pre-filled with a copy of *in; `in` runs on decode with *out pre-filled
 * with a copy of *wire. Either may be NULL (copy as is), and so may the
 * whole struct. A negative return fails the call: encode returns that code,
 * decode returns -EBADMSG. Called on the encoding or decoding thread.
 */
typedef struct casty_wire_refs {
    void *user;
    int (*out)(void *user, const casty_ref *in, casty_ref *wire);
    int (*in)(void *user, const casty_ref *wire, casty_ref *out);
} casty_wire_refs;

/*
 * The exact number of bytes casty_wire_encode() writes for msg[msg_len], a
 * `m` message. -EINVAL: NULL pointers, msg_len != m->size, a STR field not
 * NUL-terminated within its array, or a malformed schema. Any thread.
 */
CASTY_API CASTY_NODISCARD int casty_wire_encoded_size(const casty_wire_msg *m, const void *msg,
                                                      size_t msg_len);

/*
 * Encode msg[msg_len] into out[cap]. Returns the bytes written; -ENOSPC if
 * cap is too small (nothing is written then); -EINVAL as for
 * casty_wire_encoded_size(), or for a ref of unknown kind; or the negative
 * code of a failing refs->out. After an error out's contents are unspecified.
 * out may be NULL only if cap is 0. Any thread.
 */
CASTY_API CASTY_NODISCARD int casty_wire_encode(const casty_wire_msg *m, const void *msg,
                                                size_t msg_len, const casty_wire_refs *refs,
                                                uint8_t *out, size_t cap);

/*
 * Decode in[len] into out[out_len] (a `m` message). out is zeroed first, so
 * padding and unlisted fields never carry stale bytes, and again on failure.
 * Never reads outside in[0..len), never allocates. Returns 0; -EBADMSG for
 * input that encode cannot produce (truncated, trailing bytes, a length over
 * the field's capacity, a NUL inside a STR, a trailing zero in BYTES, a bool
 * other than 0 or 1, a ref with nonzero reserved bytes or unknown kind, or a
 * failing refs->in); -EINVAL for NULL pointers (in may be NULL if len is 0, out if out_len is 0),
 * out_len != m->size or a malformed schema. Any thread.
 */
CASTY_API CASTY_NODISCARD int casty_wire_decode(const casty_wire_msg *m, const uint8_t *in,
                                                size_t len, const casty_wire_refs *refs, void *out,
                                                size_t out_len);

/*
 * The protocol's wire id: the low 32 bits of XXH3_64bits over its name, so
 * every node computes the same id without coordination. 0 for NULL (a
 * registry refuses protocols whose id is 0). Any thread.
 */
CASTY_API uint32_t casty_wire_protocol_id(const casty_wire_protocol *p);

/* The schema of message `type` in `p`, or NULL (also for NULL p). Any thread. */
CASTY_API const casty_wire_msg *casty_wire_find(const casty_wire_protocol *p, uint32_t type);

/*
 * A registry maps (protocol id, type) to a schema, for the receiving side.
 * It holds up to CASTY_WIRE_REGISTRY_MAX protocols, by pointer: each must
 * outlive it (CASTY_WIRE_PROTOCOL objects are static). Adds are made by one
 * thread before the registry is shared; lookups may then run on any thread.
 */
typedef struct casty_wire_registry casty_wire_registry;

/* Create an empty registry in *out. 0, -EINVAL (NULL out) or -ENOMEM. */
CASTY_API CASTY_NODISCARD int casty_wire_registry_create(casty_wire_registry **out);

/* Free a registry (NULL is a no-op). The protocols are not touched. */
CASTY_API void casty_wire_registry_destroy(casty_wire_registry *r);

/*
 * Add protocol p. 0 (also if p itself is already there); -EINVAL for NULL
 * pointers or a malformed protocol (no name, no messages or more than
 * CASTY_WIRE_MSGS_MAX, a repeated type, a malformed schema, id 0); -EEXIST if
 * another protocol has the same id (a hash collision between two names, or a
 * second descriptor under the same name); -ENOSPC when the registry is full.
 * Not thread-safe: no other call on r may run concurrently.
 */
CASTY_API CASTY_NODISCARD int casty_wire_registry_add(casty_wire_registry *r,
                                                      const casty_wire_protocol *p);

/*
 * The schema of message `type` of the protocol with id `proto_id`, in *out.
 * 0, -ENOENT (unknown protocol or type) or -EINVAL (NULL pointers). Any
 * thread, once the adds are done.
 */
CASTY_API CASTY_NODISCARD int casty_wire_registry_lookup(const casty_wire_registry *r,
                                                         uint32_t proto_id, uint32_t type,
                                                         const casty_wire_msg **out);

/* Names, in the file of CASTY_WIRE_PROTOCOL(P, ...), a pointer to P's wire protocol. */
#define CASTY_WIRE_OF(P) (&P##__casty_wire)

/* Declares P's wire protocol, so that other files can use CASTY_WIRE_OF(P). */
#define CASTY_WIRE_DECLARE(P) extern const casty_wire_protocol P##__casty_wire

/*
 * Define the schema of message `Name` (see the file comment): a static
 * `Name##__casty_wire` and its static field table.
 */
#define CASTY_WIRE_MESSAGE(Name, ...)                                                        \
    __VA_OPT__(                                                                              \
        CASTY__WIRE_FOREACH(CASTY__WIRE_CHECK_FIELD, Name, __VA_ARGS__)                      \
            CASTY__WIRE_UNUSED static const casty_wire_field Name##__casty_wire_fields[] = { \
                CASTY__WIRE_FOREACH(CASTY__WIRE_FIELD, Name, __VA_ARGS__)};)                 \
    CASTY__WIRE_UNUSED static const casty_wire_msg Name##__casty_wire = {                    \
        #Name, CASTY__PP_CAT(CASTY__WIRE_TABLE_, __VA_OPT__(1))(Name), (uint32_t)sizeof(Name)}

/*
 * Define `const casty_wire_protocol P##__casty_wire` (external linkage) over
 * the listed messages. The compiler checks that they are exactly the
 * messages of CASTY_PROTOCOL(P, ...): each a member, none twice, none missing.
 */
#define CASTY_WIRE_PROTOCOL(P, ...)                                                             \
    CASTY__WIRE_FOREACH(CASTY__WIRE_CHECK_MEMBER, P, __VA_ARGS__)                               \
    enum P##__casty_wire_listed{CASTY__WIRE_FOREACH(CASTY__WIRE_LISTED, P, __VA_ARGS__)};       \
    _Static_assert(sizeof(struct P##__casty_members) == CASTY__PP_NARG(__VA_ARGS__),            \
                   "CASTY_WIRE_PROTOCOL(" #P ", ...) must list every message of the protocol"); \
    static const casty_wire_entry P##__casty_wire_table[] = {                                   \
        CASTY__PP_FOREACH(CASTY__WIRE_ENTRY, __VA_ARGS__)};                                     \
    CASTY_WIRE_DECLARE(P);                                                                      \
    const casty_wire_protocol P##__casty_wire = {                                               \
        #P, (uint32_t)(sizeof(P##__casty_wire_table) / sizeof(P##__casty_wire_table[0])),       \
        P##__casty_wire_table}

/* ---- implementation of the macros ---- */

#if defined(__GNUC__)
#define CASTY__WIRE_UNUSED __attribute__((unused))
#else
#define CASTY__WIRE_UNUSED
#endif

/*
 * Never defined: the _Generic below selects it for a field type the codec
 * cannot encode, and using an object of incomplete type fails to compile with
 * a diagnostic that names it.
 */
extern const struct casty_wire_unsupported_field_type casty_wire_unsupported_field_type;

/*
 * The kind of field f of struct T. _Generic looks at the field's address, so
 * that char[N] (a `char (*)[N]`) and char * stay apart. Only the basic types
 * are listed: the <stdint.h> names are aliases of them, and a _Generic must
 * not name one type twice (int32_t is int; long and long long are distinct).
 */
// clang-format off
#define CASTY__WIRE_KIND(T, f)                                                                    \
    _Generic(&((T *)0)->f,                                                                        \
        char *: ((char)-1 < 0 ? CASTY_WIRE_INT : CASTY_WIRE_UINT),                                \
        signed char *: CASTY_WIRE_INT,                                                            \
        unsigned char *: CASTY_WIRE_UINT,                                                         \
        short *: CASTY_WIRE_INT,                                                                  \
        unsigned short *: CASTY_WIRE_UINT,                                                        \
        int *: CASTY_WIRE_INT,                                                                    \
        unsigned *: CASTY_WIRE_UINT,                                                              \
        long *: CASTY_WIRE_INT,                                                                   \
        unsigned long *: CASTY_WIRE_UINT,                                                         \
        long long *: CASTY_WIRE_INT,                                                              \
        unsigned long long *: CASTY_WIRE_UINT,                                                    \
        bool *: CASTY_WIRE_BOOL,                                                                  \
        float *: CASTY_WIRE_FLOAT,                                                                \
        double *: CASTY_WIRE_FLOAT,                                                               \
        casty_ref *: CASTY_WIRE_REF,                                                              \
        char(*)[sizeof(((T *)0)->f)]: CASTY_WIRE_STR,                                             \
        unsigned char(*)[sizeof(((T *)0)->f)]: CASTY_WIRE_BYTES,                                  \
        default: casty_wire_unsupported_field_type)
// clang-format on

#define CASTY__WIRE_FIELD(T, f) \
    {#f, (uint32_t)offsetof(T, f), (uint32_t)sizeof(((T *)0)->f), CASTY__WIRE_KIND(T, f)},

#define CASTY__WIRE_CHECK_FIELD(T, f)                           \
    _Static_assert(sizeof(((T *)0)->f) <= CASTY_WIRE_ARRAY_MAX, \
                   "CASTY_WIRE_MESSAGE(" #T "): field " #f " is larger than 65535 bytes");

#define CASTY__WIRE_TABLE_(Name) NULL, 0
#define CASTY__WIRE_TABLE_1(Name) \
    Name##__casty_wire_fields,    \
        (uint32_t)(sizeof(Name##__casty_wire_fields) / sizeof(Name##__casty_wire_fields[0]))

/* A message outside the protocol fails here with "has no member named 'Msg'". */
#define CASTY__WIRE_CHECK_MEMBER(P, Msg)                               \
    _Static_assert(sizeof(((struct P##__casty_members *)0)->Msg) == 1, \
                   "CASTY_WIRE_PROTOCOL(" #P "): " #Msg " is not in the protocol");
/* A message listed twice fails here with "redeclaration of enumerator". */
#define CASTY__WIRE_LISTED(P, Msg) P##__casty_wire_listed_##Msg,
#define CASTY__WIRE_ENTRY(Msg)     {(uint32_t)CASTY_ID(Msg), &Msg##__casty_wire},

/* CASTY__WIRE_FOREACH(M, A, x, y) expands M(A, x) M(A, y); up to 64 items, like pp.h. */
// clang-format off
#define CASTY__WIRE_FOREACH(M, A, ...) \
    CASTY__PP_CAT(CASTY__WIRE_FE_, CASTY__PP_NARG(__VA_ARGS__))(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_1(M, A, x) M(A, x)
#define CASTY__WIRE_FE_2(M, A, x, ...) M(A, x) CASTY__WIRE_FE_1(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_3(M, A, x, ...) M(A, x) CASTY__WIRE_FE_2(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_4(M, A, x, ...) M(A, x) CASTY__WIRE_FE_3(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_5(M, A, x, ...) M(A, x) CASTY__WIRE_FE_4(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_6(M, A, x, ...) M(A, x) CASTY__WIRE_FE_5(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_7(M, A, x, ...) M(A, x) CASTY__WIRE_FE_6(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_8(M, A, x, ...) M(A, x) CASTY__WIRE_FE_7(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_9(M, A, x, ...) M(A, x) CASTY__WIRE_FE_8(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_10(M, A, x, ...) M(A, x) CASTY__WIRE_FE_9(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_11(M, A, x, ...) M(A, x) CASTY__WIRE_FE_10(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_12(M, A, x, ...) M(A, x) CASTY__WIRE_FE_11(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_13(M, A, x, ...) M(A, x) CASTY__WIRE_FE_12(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_14(M, A, x, ...) M(A, x) CASTY__WIRE_FE_13(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_15(M, A, x, ...) M(A, x) CASTY__WIRE_FE_14(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_16(M, A, x, ...) M(A, x) CASTY__WIRE_FE_15(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_17(M, A, x, ...) M(A, x) CASTY__WIRE_FE_16(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_18(M, A, x, ...) M(A, x) CASTY__WIRE_FE_17(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_19(M, A, x, ...) M(A, x) CASTY__WIRE_FE_18(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_20(M, A, x, ...) M(A, x) CASTY__WIRE_FE_19(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_21(M, A, x, ...) M(A, x) CASTY__WIRE_FE_20(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_22(M, A, x, ...) M(A, x) CASTY__WIRE_FE_21(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_23(M, A, x, ...) M(A, x) CASTY__WIRE_FE_22(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_24(M, A, x, ...) M(A, x) CASTY__WIRE_FE_23(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_25(M, A, x, ...) M(A, x) CASTY__WIRE_FE_24(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_26(M, A, x, ...) M(A, x) CASTY__WIRE_FE_25(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_27(M, A, x, ...) M(A, x) CASTY__WIRE_FE_26(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_28(M, A, x, ...) M(A, x) CASTY__WIRE_FE_27(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_29(M, A, x, ...) M(A, x) CASTY__WIRE_FE_28(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_30(M, A, x, ...) M(A, x) CASTY__WIRE_FE_29(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_31(M, A, x, ...) M(A, x) CASTY__WIRE_FE_30(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_32(M, A, x, ...) M(A, x) CASTY__WIRE_FE_31(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_33(M, A, x, ...) M(A, x) CASTY__WIRE_FE_32(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_34(M, A, x, ...) M(A, x) CASTY__WIRE_FE_33(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_35(M, A, x, ...) M(A, x) CASTY__WIRE_FE_34(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_36(M, A, x, ...) M(A, x) CASTY__WIRE_FE_35(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_37(M, A, x, ...) M(A, x) CASTY__WIRE_FE_36(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_38(M, A, x, ...) M(A, x) CASTY__WIRE_FE_37(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_39(M, A, x, ...) M(A, x) CASTY__WIRE_FE_38(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_40(M, A, x, ...) M(A, x) CASTY__WIRE_FE_39(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_41(M, A, x, ...) M(A, x) CASTY__WIRE_FE_40(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_42(M, A, x, ...) M(A, x) CASTY__WIRE_FE_41(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_43(M, A, x, ...) M(A, x) CASTY__WIRE_FE_42(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_44(M, A, x, ...) M(A, x) CASTY__WIRE_FE_43(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_45(M, A, x, ...) M(A, x) CASTY__WIRE_FE_44(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_46(M, A, x, ...) M(A, x) CASTY__WIRE_FE_45(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_47(M, A, x, ...) M(A, x) CASTY__WIRE_FE_46(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_48(M, A, x, ...) M(A, x) CASTY__WIRE_FE_47(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_49(M, A, x, ...) M(A, x) CASTY__WIRE_FE_48(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_50(M, A, x, ...) M(A, x) CASTY__WIRE_FE_49(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_51(M, A, x, ...) M(A, x) CASTY__WIRE_FE_50(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_52(M, A, x, ...) M(A, x) CASTY__WIRE_FE_51(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_53(M, A, x, ...) M(A, x) CASTY__WIRE_FE_52(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_54(M, A, x, ...) M(A, x) CASTY__WIRE_FE_53(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_55(M, A, x, ...) M(A, x) CASTY__WIRE_FE_54(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_56(M, A, x, ...) M(A, x) CASTY__WIRE_FE_55(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_57(M, A, x, ...) M(A, x) CASTY__WIRE_FE_56(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_58(M, A, x, ...) M(A, x) CASTY__WIRE_FE_57(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_59(M, A, x, ...) M(A, x) CASTY__WIRE_FE_58(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_60(M, A, x, ...) M(A, x) CASTY__WIRE_FE_59(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_61(M, A, x, ...) M(A, x) CASTY__WIRE_FE_60(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_62(M, A, x, ...) M(A, x) CASTY__WIRE_FE_61(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_63(M, A, x, ...) M(A, x) CASTY__WIRE_FE_62(M, A, __VA_ARGS__)
#define CASTY__WIRE_FE_64(M, A, x, ...) M(A, x) CASTY__WIRE_FE_63(M, A, __VA_ARGS__)
// clang-format on

#ifdef __cplusplus
}
#endif
#endif
