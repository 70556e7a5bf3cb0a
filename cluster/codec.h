/*
 * Internal view of the message schema codec (cluster/codec.c), shared with
 * the protocol registry (cluster/wire_registry.c). Pure; any thread.
 */
#ifndef CASTY_CLUSTER_CODEC_H
#define CASTY_CLUSTER_CODEC_H

#include <stdbool.h>

#include "casty/wire.h"

/*
 * Can the codec run schema m without stepping outside its struct? Checks
 * each field's kind, width and bounds, and the size limits that keep every
 * encoded size below INT_MAX. false for NULL.
 */
bool casty__wire_schema_ok(const casty_wire_msg *m);

#endif
