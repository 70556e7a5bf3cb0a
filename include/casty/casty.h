/* Casty: an actor framework for C on Linux. Umbrella header: includes the public API. */
#ifndef CASTY_CASTY_H
#define CASTY_CASTY_H

#include "casty/api.h"
#include "casty/version.h"
#include "casty/error.h"
#include "casty/config.h"
#include "casty/message.h"
#include "casty/system.h"
#include "casty/lifecycle.h"
#include "casty/actor.h"
#include "casty/schedule.h"
#include "casty/wire.h"

#endif
