/*
 * A saga: one order touches three services (inventory, payment, shipping)
 * that share no transaction. Each step that succeeded has a compensating
 * action; when a later step fails, the saga runs the compensations of the
 * completed steps in reverse order, so the services end up as if the order
 * had never happened.
 *
 *   reserve stock --> charge payment --> ship
 *   release stock <-- refund payment <-- (failure)
 *
 * One saga actor per order runs the steps one at a time with
 * casty_ask_async_timeout (a service that does not answer is a failed step),
 * logs each one, answers main's ask when it is over and stops itself. The
 * services find nothing special about it: they answer asks, with an error
 * reply when they refuse.
 *
 * Expected output:
 *   order-1: reserve 2 widgets ... ok
 *   order-1: charge 30 ... ok
 *   order-1: ship to 1 Main St ... ok
 *   order-1: COMPLETED
 *   order-2: reserve 1 widgets ... ok
 *   order-2: charge 500 ... failed: card declined
 *   order-2: compensate: release 1 widgets ... ok
 *   order-2: ABORTED at charge, compensated
 *   order-3: reserve 3 widgets ... ok
 *   order-3: charge 20 ... ok
 *   order-3: ship to Atlantis ... failed: no courier goes there
 *   order-3: compensate: refund 20 ... ok
 *   order-3: compensate: release 3 widgets ... ok
 *   order-3: ABORTED at ship, compensated
 *   order-4: reserve 50 widgets ... failed: out of stock
 *   order-4: ABORTED at reserve, nothing to undo
 *   main: stock 8 widgets (of 10), wallet 70 (of 100): only order-1 left a trace
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <casty/casty.h>

#define STEP_TIMEOUT_MS 1000

/* Application errors carried by error replies. */
#define ERR_OUT_OF_STOCK (-ENOSPC)
#define ERR_DECLINED     (-EACCES)
#define ERR_NO_ROUTE     (-EHOSTUNREACH)

/* --- the services --- */

CASTY_MESSAGE(Reserve, int qty);
CASTY_MESSAGE(Release, int qty);
CASTY_MESSAGE(StockLevel);
CASTY_PROTOCOL(InventoryMsg, Reserve, Release, StockLevel);

typedef struct {
    int stock;
} Inventory;

static int inventory_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    (void)arg;
    (void)len;
    ((Inventory *)state)->stock = 10;
    return 0;
}

static int inventory(casty_ctx *ctx, Inventory *self, const casty_msg *msg)
{
    switch ((enum InventoryMsg_type)casty_type(msg)) {
    case CASTY_ID(Reserve): {
        int qty = CASTY_AS(msg, Reserve)->qty;
        if (qty > self->stock)
            return casty_reply_error(ctx, ERR_OUT_OF_STOCK);
        self->stock -= qty;
        return casty_reply(ctx, int, self->stock);
    }
    case CASTY_ID(Release):
        self->stock += CASTY_AS(msg, Release)->qty;
        return casty_reply(ctx, int, self->stock);
    case CASTY_ID(StockLevel):
        return casty_reply(ctx, int, self->stock);
    }
    return 0;
}
CASTY_ACTOR(inventory_actor, InventoryMsg, Inventory, inventory, .init = inventory_init);

CASTY_MESSAGE(Charge, int amount);
CASTY_MESSAGE(Refund, int amount);
CASTY_MESSAGE(Balance);
CASTY_PROTOCOL(PaymentMsg, Charge, Refund, Balance);

typedef struct {
    int wallet;
} Payment;

static int payment_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    (void)arg;
    (void)len;
    ((Payment *)state)->wallet = 100;
    return 0;
}

static int payment(casty_ctx *ctx, Payment *self, const casty_msg *msg)
{
    switch ((enum PaymentMsg_type)casty_type(msg)) {
    case CASTY_ID(Charge): {
        int amount = CASTY_AS(msg, Charge)->amount;
        if (amount > self->wallet)
            return casty_reply_error(ctx, ERR_DECLINED);
        self->wallet -= amount;
        return casty_reply(ctx, int, self->wallet);
    }
    case CASTY_ID(Refund):
        self->wallet += CASTY_AS(msg, Refund)->amount;
        return casty_reply(ctx, int, self->wallet);
    case CASTY_ID(Balance):
        return casty_reply(ctx, int, self->wallet);
    }
    return 0;
}
CASTY_ACTOR(payment_actor, PaymentMsg, Payment, payment, .init = payment_init);

/* An array inside a struct copies by value, so it can be a designated initializer: .address = a. */
typedef struct {
    char text[24];
} Address;

CASTY_MESSAGE(Ship, Address address);
CASTY_PROTOCOL(ShippingMsg, Ship);

typedef struct {
    int parcels;
} Shipping;

static int shipping(casty_ctx *ctx, Shipping *self, const casty_msg *msg)
{
    switch ((enum ShippingMsg_type)casty_type(msg)) {
    case CASTY_ID(Ship):
        if (strcmp(CASTY_AS(msg, Ship)->address.text, "Atlantis") == 0)
            return casty_reply_error(ctx, ERR_NO_ROUTE);
        return casty_reply(ctx, int, ++self->parcels); /* a tracking number */
    }
    return 0;
}
CASTY_ACTOR(shipping_actor, ShippingMsg, Shipping, shipping);

/* --- the saga: one per order --- */

typedef struct {
    int order;
    int qty;
    int amount;
    Address address;
} OrderInfo;

typedef enum { RESERVE, CHARGE, SHIP, STEPS } Step;
static const char *const step_names[STEPS] = {"reserve", "charge", "ship"};

/* What main learns: 0 and STEPS, or the failed step's error and index. */
typedef struct {
    int rc;
    Step failed_at;
} SagaResult;

CASTY_MESSAGE(Run);
CASTY_MESSAGE(StepReply, int value); /* the reply type of every step's ask */
CASTY_PROTOCOL(SagaMsg, Run, StepReply);

typedef struct {
    OrderInfo order;
    InventoryMsg_ref inventory;
    PaymentMsg_ref payment;
    ShippingMsg_ref shipping;
    Step step; /* the step (or compensation) in flight */
    bool compensating;
    char doing[64]; /* what is in flight, for the log line */
    SagaResult result;
    casty_ref caller;
} Saga;

static int saga_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    Saga *self = state;
    if (len != sizeof(OrderInfo))
        return -EINVAL;
    memcpy(&self->order, arg, len);
    /* The services are found by name, as any actor could. */
    casty_system *sys = casty_ctx_system(ctx);
    int rc = casty_lookup(sys, InventoryMsg, &self->inventory, "inventory");
    if (rc == 0)
        rc = casty_lookup(sys, PaymentMsg, &self->payment, "payment");
    if (rc == 0)
        rc = casty_lookup(sys, ShippingMsg, &self->shipping, "shipping");
    return rc;
}

static const char *error_text(int rc)
{
    switch (rc) {
    case ERR_OUT_OF_STOCK:
        return "out of stock";
    case ERR_DECLINED:
        return "card declined";
    case ERR_NO_ROUTE:
        return "no courier goes there";
    default:
        return casty_strerror(rc); /* e.g. timed out */
    }
}

/* Start step `s`, or its compensation; the answer comes back as a StepReply. */
static int start(casty_ctx *ctx, Saga *self, Step s)
{
    const OrderInfo *o = &self->order;
    bool undo = self->compensating;
    self->step = s;
    switch (s) {
    case RESERVE:
        snprintf(self->doing, sizeof(self->doing), "%s %d widgets",
                 undo ? "compensate: release" : "reserve", o->qty);
        if (undo)
            return casty_ask_async_timeout(ctx, self->inventory, StepReply, STEP_TIMEOUT_MS,
                                           Release, .qty = o->qty);
        return casty_ask_async_timeout(ctx, self->inventory, StepReply, STEP_TIMEOUT_MS, Reserve,
                                       .qty = o->qty);
    case CHARGE:
        snprintf(self->doing, sizeof(self->doing), "%s %d", undo ? "compensate: refund" : "charge",
                 o->amount);
        if (undo)
            return casty_ask_async_timeout(ctx, self->payment, StepReply, STEP_TIMEOUT_MS, Refund,
                                           .amount = o->amount);
        return casty_ask_async_timeout(ctx, self->payment, StepReply, STEP_TIMEOUT_MS, Charge,
                                       .amount = o->amount);
    case SHIP:
        /* The last step needs no compensation: once it succeeds, the saga is over. */
        snprintf(self->doing, sizeof(self->doing), "ship to %s", o->address.text);
        return casty_ask_async_timeout(ctx, self->shipping, StepReply, STEP_TIMEOUT_MS, Ship,
                                       .address = o->address);
    case STEPS:
        break;
    }
    return -EINVAL;
}

/* The saga is over: tell main and stop. */
static int finish(casty_ctx *ctx, Saga *self)
{
    const OrderInfo *o = &self->order;
    if (self->result.rc == 0)
        printf("order-%d: COMPLETED\n", o->order);
    else
        printf("order-%d: ABORTED at %s, %s\n", o->order, step_names[self->result.failed_at],
               self->result.failed_at == RESERVE ? "nothing to undo" : "compensated");
    casty_stop_self(ctx);
    return casty_tell_raw(self->caller, CASTY_TYPE_REPLY, &self->result, sizeof(self->result),
                          NULL);
}

static int on_step_reply(casty_ctx *ctx, Saga *self, int rc)
{
    if (rc == 0) {
        printf("order-%d: %s ... ok\n", self->order.order, self->doing);
    } else {
        printf("order-%d: %s ... failed: %s\n", self->order.order, self->doing, error_text(rc));
        /* A failed compensation would be retried or raise an alarm; this saga goes on. */
        if (!self->compensating) {
            self->result = (SagaResult){.rc = rc, .failed_at = self->step};
            self->compensating = true;
        }
    }
    if (!self->compensating) {
        if (self->step + 1 == STEPS)
            return finish(ctx, self);
        return start(ctx, self, self->step + 1);
    }
    /* Compensate the completed steps, newest first (the failed step itself did nothing). */
    Step done_below = self->step;
    if (done_below == 0)
        return finish(ctx, self);
    return start(ctx, self, done_below - 1);
}

static int saga(casty_ctx *ctx, Saga *self, const casty_msg *msg)
{
    switch ((enum SagaMsg_type)casty_type(msg)) {
    case CASTY_ID(Run):
        self->caller = casty_sender(ctx);
        return start(ctx, self, RESERVE);
    case CASTY_ID(StepReply):
        return on_step_reply(ctx, self, casty_msg_status(msg));
    }
    return 0;
}
CASTY_ACTOR(saga_actor, SagaMsg, Saga, saga, .init = saga_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static void run_saga(casty_system *sys, OrderInfo o)
{
    SagaMsg_ref s;
    check(casty_spawn(sys, &s, saga_actor, NULL, .arg = &o, .arg_len = sizeof(o)), "spawn saga");
    SagaResult r;
    check(casty_ask_timeout(s, &r, 10000, Run), "run saga");
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    InventoryMsg_ref inv;
    PaymentMsg_ref pay;
    ShippingMsg_ref shp;
    check(casty_spawn(sys, &inv, inventory_actor, "inventory"), "spawn inventory");
    check(casty_spawn(sys, &pay, payment_actor, "payment"), "spawn payment");
    check(casty_spawn(sys, &shp, shipping_actor, "shipping"), "spawn shipping");

    run_saga(sys, (OrderInfo){.order = 1, .qty = 2, .amount = 30, .address = {"1 Main St"}});
    run_saga(sys, (OrderInfo){.order = 2, .qty = 1, .amount = 500, .address = {"2 Side St"}});
    run_saga(sys, (OrderInfo){.order = 3, .qty = 3, .amount = 20, .address = {"Atlantis"}});
    run_saga(sys, (OrderInfo){.order = 4, .qty = 50, .amount = 10, .address = {"4 Far Rd"}});

    int stock, wallet;
    check(casty_ask_timeout(inv, &stock, 1000, StockLevel), "stock");
    check(casty_ask_timeout(pay, &wallet, 1000, Balance), "balance");
    printf("main: stock %d widgets (of 10), wallet %d (of 100): %s\n", stock, wallet,
           stock == 8 && wallet == 70 ? "only order-1 left a trace" : "INCONSISTENT");

    check(casty_system_stop(sys), "stop");
    return stock == 8 && wallet == 70 ? 0 : 1;
}
