/*
 * A state machine: an order workflow, one actor per order.
 *
 *     NEW --Pay--> PAID --Ship--> SHIPPED --(courier)--> DELIVERED
 *      |            |
 *      +--Cancel----+--Cancel--> CANCELLED <--(payment deadline)-- NEW
 *
 * The actor's state is the order's state, so no lock guards a transition: each
 * message is one step, and a step the table does not allow is refused with an
 * error reply (-EPERM). Time drives two of the transitions through scheduled
 * messages: an order not paid in time cancels itself (the timer is cancelled
 * by Pay and Cancel), and a shipped order is delivered 20 ms later.
 *
 * Expected output:
 *   order-1: Pay 30 -> PAID
 *   order-1: Ship -> SHIPPED
 *   order-1: the courier's scheduled message -> DELIVERED
 *   order-1: Cancel -> refused in state DELIVERED
 *   order-2: Ship -> refused in state NEW
 *   order-2: Pay 5 -> invalid amount, still NEW
 *   order-2: Cancel -> CANCELLED
 *   order-2: Pay 20 -> refused in state CANCELLED
 *   order-3: nobody pays, the 100 ms payment deadline fires -> CANCELLED
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <casty/casty.h>

#define COURIER_MS 20

typedef enum {
    REFUSED = 0, /* in the table: this event is not allowed in this state */
    NEW,
    PAID,
    SHIPPED,
    DELIVERED,
    CANCELLED,
    STATE_COUNT
} OrderState;

static const char *const state_names[STATE_COUNT] = {"REFUSED", "NEW",       "PAID",
                                                     "SHIPPED", "DELIVERED", "CANCELLED"};

typedef enum { EV_PAY, EV_SHIP, EV_DELIVERED, EV_CANCEL, EV_DEADLINE, EVENT_COUNT } OrderEvent;

/* The whole workflow in one table: transitions[state][event] is the next state. */
static const OrderState transitions[STATE_COUNT][EVENT_COUNT] = {
    [NEW] = {[EV_PAY] = PAID, [EV_CANCEL] = CANCELLED, [EV_DEADLINE] = CANCELLED},
    [PAID] = {[EV_SHIP] = SHIPPED, [EV_CANCEL] = CANCELLED},
    [SHIPPED] = {[EV_DELIVERED] = DELIVERED},
};

CASTY_MESSAGE(Pay, int amount);
CASTY_MESSAGE(Ship);
CASTY_MESSAGE(Cancel);
CASTY_MESSAGE(Status);
CASTY_MESSAGE(Delivered);       /* from the courier's timer */
CASTY_MESSAGE(PaymentDeadline); /* from the payment timer */
CASTY_PROTOCOL(OrderMsg, Pay, Ship, Cancel, Status, Delivered, PaymentDeadline);

typedef struct {
    int amount;        /* what the customer owes */
    int pay_within_ms; /* after that, an unpaid order cancels itself */
} OrderArg;

typedef struct {
    OrderState state;
    int amount;
    casty_ref payment_timer; /* cancel handle of the pending PaymentDeadline */
} Order;

static OrderMsg_ref self_ref(casty_ctx *ctx)
{
    return (OrderMsg_ref){.raw = casty_self(ctx)};
}

static int order_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    Order *self = state;
    if (len != sizeof(OrderArg))
        return -EINVAL;
    const OrderArg *a = arg;
    self->amount = a->amount;
    self->state = NEW;
    /*
     * Scheduled inside the actor, the timer belongs to it: should the order
     * stop first, the timer goes with it.
     */
    return casty_schedule_once(casty_ctx_system(ctx), &self->payment_timer, self_ref(ctx),
                               (uint32_t)a->pay_within_ms, PaymentDeadline);
}

/* Apply `ev`; 0 and the new state, or -EPERM with the state unchanged. */
static int step(Order *self, OrderEvent ev)
{
    OrderState next = transitions[self->state][ev];
    if (next == REFUSED)
        return -EPERM;
    self->state = next;
    return 0;
}

/* Answer an ask with the state, or with the error. */
static int answer(casty_ctx *ctx, const Order *self, int rc)
{
    if (rc < 0)
        return casty_reply_error(ctx, rc);
    return casty_reply(ctx, int, (int)self->state);
}

static int order(casty_ctx *ctx, Order *self, const casty_msg *msg)
{
    int rc;
    switch ((enum OrderMsg_type)casty_type(msg)) {
    case CASTY_ID(Pay):
        /* Validation (a wrong amount) is not a transition: the state stays. */
        if (self->state == NEW && CASTY_AS(msg, Pay)->amount != self->amount)
            return casty_reply_error(ctx, -EINVAL);
        rc = step(self, EV_PAY);
        if (rc == 0) {
            /* -ENOENT: the deadline already fired and its message is queued; the table refuses it. */
            int crc = casty_cancel(self->payment_timer);
            if (crc < 0 && crc != -ENOENT)
                return crc;
        }
        return answer(ctx, self, rc);
    case CASTY_ID(Ship):
        rc = step(self, EV_SHIP);
        if (rc == 0) {
            int src = casty_schedule_once(casty_ctx_system(ctx), NULL, self_ref(ctx), COURIER_MS,
                                          Delivered);
            if (src < 0)
                return src;
        }
        return answer(ctx, self, rc);
    case CASTY_ID(Cancel):
        rc = step(self, EV_CANCEL);
        if (rc == 0) {
            int crc = casty_cancel(self->payment_timer);
            if (crc < 0 && crc != -ENOENT)
                return crc;
        }
        return answer(ctx, self, rc);
    case CASTY_ID(Status):
        return answer(ctx, self, 0);
    case CASTY_ID(Delivered):
        /* Timer messages have no asker: a refused one is simply ignored. */
        (void)step(self, EV_DELIVERED);
        return 0;
    case CASTY_ID(PaymentDeadline):
        (void)step(self, EV_DEADLINE);
        return 0;
    }
    return 0;
}
CASTY_ACTOR(order_actor, OrderMsg, Order, order, .init = order_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static int status(OrderMsg_ref o)
{
    int st = 0;
    check(casty_ask_timeout(o, &st, 1000, Status), "status");
    return st;
}

/* Print the outcome of a command: the new state, or why it was refused. */
static void show(const char *order, const char *cmd, int rc, int st, OrderMsg_ref o)
{
    if (rc == 0)
        printf("%s: %s -> %s\n", order, cmd, state_names[st]);
    else if (rc == -EPERM)
        printf("%s: %s -> refused in state %s\n", order, cmd, state_names[status(o)]);
    else if (rc == -EINVAL)
        printf("%s: %s -> invalid amount, still %s\n", order, cmd, state_names[status(o)]);
    else
        check(rc, cmd);
}

/* The timer-driven transitions happen on their own: poll the state, with a deadline. */
static void wait_state(OrderMsg_ref o, OrderState want)
{
    for (int i = 0; i < 5000 && status(o) != (int)want; i++)
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    /* The spawn arg is copied: a compound literal is fine. */
    OrderMsg_ref o1, o2, o3;
    check(casty_spawn(sys, &o1, order_actor, "order-1", .arg = &(OrderArg){30, 10000},
                      .arg_len = sizeof(OrderArg)),
          "spawn");
    check(casty_spawn(sys, &o2, order_actor, "order-2", .arg = &(OrderArg){20, 10000},
                      .arg_len = sizeof(OrderArg)),
          "spawn");
    check(casty_spawn(sys, &o3, order_actor, "order-3", .arg = &(OrderArg){10, 100},
                      .arg_len = sizeof(OrderArg)),
          "spawn");

    int st = 0, rc;
    rc = casty_ask_timeout(o1, &st, 1000, Pay, .amount = 30);
    show("order-1", "Pay 30", rc, st, o1);
    rc = casty_ask_timeout(o1, &st, 1000, Ship);
    show("order-1", "Ship", rc, st, o1);
    wait_state(o1, DELIVERED);
    printf("order-1: the courier's scheduled message -> %s\n", state_names[status(o1)]);
    rc = casty_ask_timeout(o1, &st, 1000, Cancel);
    show("order-1", "Cancel", rc, st, o1);

    rc = casty_ask_timeout(o2, &st, 1000, Ship);
    show("order-2", "Ship", rc, st, o2);
    rc = casty_ask_timeout(o2, &st, 1000, Pay, .amount = 5);
    show("order-2", "Pay 5", rc, st, o2);
    rc = casty_ask_timeout(o2, &st, 1000, Cancel);
    show("order-2", "Cancel", rc, st, o2);
    rc = casty_ask_timeout(o2, &st, 1000, Pay, .amount = 20);
    show("order-2", "Pay 20", rc, st, o2);

    wait_state(o3, CANCELLED);
    printf("order-3: nobody pays, the 100 ms payment deadline fires -> %s\n",
           state_names[status(o3)]);

    check(casty_system_stop(sys), "stop");
    return 0;
}
