/*
 * The message schemas fuzz_message.c decodes against, shared with the
 * corpus generator (gen_corpus.c) so that its seeds match them. Between them
 * they cover every field kind and width, arrays of capacity 1 and large
 * ones, fields after variable-length ones, and a message without fields.
 * The fuzz input's first byte picks the schema (FUZZ_SCHEMA_*), the rest is
 * the encoded message.
 */
#ifndef CASTY_TESTS_FUZZ_SCHEMAS_H
#define CASTY_TESTS_FUZZ_SCHEMAS_H

#include "casty/wire.h"

CASTY_MESSAGE(FzScalars, int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
              uint32_t u32; int64_t i64; uint64_t u64; char c; long l; unsigned long long ull;
              bool flag; float f32; double f64);
CASTY_MESSAGE(FzArrays, char name[8]; uint8_t blob[5]; char big[300]; unsigned char one[1];
              char tiny[1]; bool after);
CASTY_MESSAGE(FzRefs, casty_ref a; int16_t k; casty_ref b);
CASTY_MESSAGE(FzMixed, bool a; char s[2]; uint64_t x; uint8_t b[3]; casty_ref r; float f; short h);
CASTY_MESSAGE(FzEmpty);
CASTY_PROTOCOL(FzMsg, FzScalars, FzArrays, FzRefs, FzMixed, FzEmpty);

CASTY_WIRE_MESSAGE(FzScalars, i8, u8, i16, u16, i32, u32, i64, u64, c, l, ull, flag, f32, f64);
CASTY_WIRE_MESSAGE(FzArrays, name, blob, big, one, tiny, after);
CASTY_WIRE_MESSAGE(FzRefs, a, k, b);
CASTY_WIRE_MESSAGE(FzMixed, a, s, x, b, r, f, h);
CASTY_WIRE_MESSAGE(FzEmpty);
CASTY_WIRE_PROTOCOL(FzMsg, FzScalars, FzArrays, FzRefs, FzMixed, FzEmpty);

#define FUZZ_SCHEMAS 5u

/* The largest of the structs above, for buffers that hold any of them. */
#define FUZZ_STRUCT_MAX 512u

#endif
