/*
 * CQRS: commands and queries go to different actors.
 *
 *   command side   the ledger validates each command against its own state
 *                  (the write model) and, if it is valid, appends an event to
 *                  its journal and answers with the event's number. It never
 *                  answers queries about balances.
 *   query side     the balances view applies the events, in order, to a read
 *                  model shaped for reading, and answers queries from it.
 *
 * The two are only eventually consistent: the ledger publishes its events on
 * a periodic tick (casty_schedule_every) once they are 200 ms old (a stand-in
 * for a message bus or a replica's lag). A query right after a command sees
 * the old state; a query that names the event it needs to see ("read your
 * writes") is answered when the view has caught up to it.
 *
 * Expected output:
 *   command: open alice -> event #1
 *   command: open bob -> event #2
 *   command: deposit 100 to alice -> event #3
 *   command: withdraw 30 from alice -> event #4
 *   command: withdraw 500 from bob -> refused: insufficient funds
 *   command: deposit 50 to carol -> refused: no such account
 *   command: open alice -> refused: account exists
 *   query at once: alice has 0, the view has applied 0 of 4 events (stale)
 *   query after event #4: alice has 70 in 2 transactions, bob has 0
 *   journal: #1 open alice | #2 open bob | #3 deposit alice 100 | #4 withdraw alice 30
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define ACCOUNTS   8
#define JOURNAL    64
#define LAG_MS     200
#define PUBLISH_MS 10
#define WAITERS    8

#define ERR_EXISTS    (-EEXIST)
#define ERR_NO_ACCT   (-ENOENT)
#define ERR_NO_FUNDS  (-EPERM)
#define ERR_BAD_INPUT (-EINVAL)

typedef struct {
    char s[16];
} AccountId;

typedef enum { OPENED, DEPOSITED, WITHDRAWN } EventKind;
static const char *const kind_names[] = {"open", "deposit", "withdraw"};

typedef struct {
    int seq; /* 1, 2, ... in journal order */
    EventKind kind;
    AccountId account;
    int amount;
} Event;

/* --- the query side: the balances view --- */

/* One row of the read model, as a query answers it. */
typedef struct {
    int balance;
    int transactions;
    int applied; /* the last event the view had applied when it answered */
} Row;

CASTY_MESSAGE(Apply, Event event);
CASTY_MESSAGE(Query, AccountId account);
CASTY_MESSAGE(QueryAfter, AccountId account; int seq);
CASTY_PROTOCOL(ViewMsg, Apply, Query, QueryAfter);

typedef struct {
    AccountId account;
    int seq;
    casty_ref asker;
} Waiter;

typedef struct {
    int n;
    AccountId ids[ACCOUNTS];
    Row rows[ACCOUNTS];
    int applied;
    int waiting;
    Waiter waiters[WAITERS];
} View;

static Row row_of(const View *self, const AccountId *id)
{
    Row r = {.applied = self->applied};
    for (int i = 0; i < self->n; i++)
        if (strcmp(self->ids[i].s, id->s) == 0) {
            r = self->rows[i];
            r.applied = self->applied;
        }
    return r;
}

static void project(View *self, const Event *e)
{
    int i = 0;
    while (i < self->n && strcmp(self->ids[i].s, e->account.s) != 0)
        i++;
    if (i == self->n) {
        if (self->n == ACCOUNTS)
            return; /* a bigger read model would grow here */
        self->ids[self->n++] = e->account;
    }
    switch (e->kind) {
    case OPENED:
        break;
    case DEPOSITED:
        self->rows[i].balance += e->amount;
        self->rows[i].transactions++;
        break;
    case WITHDRAWN:
        self->rows[i].balance -= e->amount;
        self->rows[i].transactions++;
        break;
    }
}

/* Answer the read-your-writes queries the view has now caught up with. */
static int answer_waiters(View *self)
{
    for (int i = 0; i < self->waiting;) {
        Waiter *w = &self->waiters[i];
        if (w->seq > self->applied) {
            i++;
            continue;
        }
        Row r = row_of(self, &w->account);
        int rc = casty_tell_raw(w->asker, CASTY_TYPE_REPLY, &r, sizeof(r), NULL);
        if (rc < 0)
            return rc;
        *w = self->waiters[--self->waiting];
    }
    return 0;
}

static int view(casty_ctx *ctx, View *self, const casty_msg *msg)
{
    switch ((enum ViewMsg_type)casty_type(msg)) {
    case CASTY_ID(Apply): {
        const Event *e = &CASTY_AS(msg, Apply)->event;
        /* Events arrive in journal order (FIFO from the ledger); a replay would be skipped. */
        if (e->seq != self->applied + 1)
            return 0;
        project(self, e);
        self->applied = e->seq;
        return answer_waiters(self);
    }
    case CASTY_ID(Query):
        return casty_reply(ctx, Row, row_of(self, &CASTY_AS(msg, Query)->account));
    case CASTY_ID(QueryAfter): {
        const QueryAfter *q = CASTY_AS(msg, QueryAfter);
        if (q->seq <= self->applied)
            return casty_reply(ctx, Row, row_of(self, &q->account));
        if (self->waiting == WAITERS)
            return casty_reply_error(ctx, -EBUSY);
        /* Not there yet: keep the asker and answer once the event is applied. */
        self->waiters[self->waiting++] =
            (Waiter){.account = q->account, .seq = q->seq, .asker = casty_sender(ctx)};
        return 0;
    }
    }
    return 0;
}
CASTY_ACTOR(view_actor, ViewMsg, View, view);

/* --- the command side: the ledger --- */

typedef struct {
    int n;
    Event events[JOURNAL];
} Journal;

CASTY_MESSAGE(Open, AccountId account);
CASTY_MESSAGE(Deposit, AccountId account; int amount);
CASTY_MESSAGE(Withdraw, AccountId account; int amount);
CASTY_MESSAGE(GetJournal);
CASTY_MESSAGE(Publish); /* the periodic publication tick */
CASTY_PROTOCOL(LedgerMsg, Open, Deposit, Withdraw, GetJournal, Publish);

typedef struct {
    /* The write model: just what validation needs. */
    int n;
    AccountId ids[ACCOUNTS];
    int balances[ACCOUNTS];
    /* The journal, and how far it has been published. */
    Journal journal;
    uint64_t appended_ns[JOURNAL];
    int published;
    ViewMsg_ref view;
} Ledger;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int ledger_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    Ledger *self = state;
    if (len != sizeof(ViewMsg_ref))
        return -EINVAL;
    self->view = *(const ViewMsg_ref *)arg;
    LedgerMsg_ref me = {.raw = casty_self(ctx)};
    return casty_schedule_every(casty_ctx_system(ctx), NULL, me, PUBLISH_MS, Publish);
}

static int account_index(const Ledger *self, const AccountId *id)
{
    for (int i = 0; i < self->n; i++)
        if (strcmp(self->ids[i].s, id->s) == 0)
            return i;
    return -1;
}

/* Validate a command against the write model: 0 or the reason to refuse it. */
static int validate(const Ledger *self, EventKind kind, const AccountId *id, int amount)
{
    int i = account_index(self, id);
    if (self->journal.n == JOURNAL)
        return -ENOSPC;
    switch (kind) {
    case OPENED:
        if (i >= 0)
            return ERR_EXISTS;
        return self->n == ACCOUNTS ? -ENOSPC : 0;
    case DEPOSITED:
    case WITHDRAWN:
        if (i < 0)
            return ERR_NO_ACCT;
        if (amount <= 0)
            return ERR_BAD_INPUT;
        if (kind == WITHDRAWN && amount > self->balances[i])
            return ERR_NO_FUNDS;
        return 0;
    }
    return ERR_BAD_INPUT;
}

/* Handle a command: validate, append the event, update the write model, answer. */
static int command(casty_ctx *ctx, Ledger *self, EventKind kind, const AccountId *id, int amount)
{
    int rc = validate(self, kind, id, amount);
    if (rc < 0)
        return casty_reply_error(ctx, rc); /* refused: no event */
    Journal *j = &self->journal;
    Event e = {.seq = j->n + 1, .kind = kind, .account = *id, .amount = amount};
    self->appended_ns[j->n] = now_ns();
    j->events[j->n++] = e;
    if (kind == OPENED)
        self->ids[self->n++] = *id;
    else
        self->balances[account_index(self, id)] += kind == DEPOSITED ? amount : -amount;
    return casty_reply(ctx, int, e.seq);
}

/* Send the view, in order, every event that is at least LAG_MS old. */
static int publish(Ledger *self)
{
    uint64_t now = now_ns();
    while (self->published < self->journal.n &&
           now - self->appended_ns[self->published] >= (uint64_t)LAG_MS * 1000000u) {
        int rc = casty_tell(self->view, Apply, .event = self->journal.events[self->published]);
        if (rc < 0)
            return rc;
        self->published++;
    }
    return 0;
}

static int ledger(casty_ctx *ctx, Ledger *self, const casty_msg *msg)
{
    switch ((enum LedgerMsg_type)casty_type(msg)) {
    case CASTY_ID(Open):
        return command(ctx, self, OPENED, &CASTY_AS(msg, Open)->account, 0);
    case CASTY_ID(Deposit):
        return command(ctx, self, DEPOSITED, &CASTY_AS(msg, Deposit)->account,
                       CASTY_AS(msg, Deposit)->amount);
    case CASTY_ID(Withdraw):
        return command(ctx, self, WITHDRAWN, &CASTY_AS(msg, Withdraw)->account,
                       CASTY_AS(msg, Withdraw)->amount);
    case CASTY_ID(GetJournal):
        return casty_reply(ctx, Journal, self->journal);
    case CASTY_ID(Publish):
        return publish(self);
    }
    return 0;
}
CASTY_ACTOR(ledger_actor, LedgerMsg, Ledger, ledger, .init = ledger_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static AccountId acct(const char *s)
{
    AccountId a = {{0}};
    snprintf(a.s, sizeof(a.s), "%s", s);
    return a;
}

static const char *reason(int rc)
{
    switch (rc) {
    case ERR_EXISTS:
        return "account exists";
    case ERR_NO_ACCT:
        return "no such account";
    case ERR_NO_FUNDS:
        return "insufficient funds";
    case ERR_BAD_INPUT:
        return "invalid amount";
    default:
        return casty_strerror(rc);
    }
}

/* Print a command's outcome; returns the event number, or 0 if refused. */
static int outcome(const char *what, int rc, int seq)
{
    if (rc < 0 && rc != ERR_EXISTS && rc != ERR_NO_ACCT && rc != ERR_NO_FUNDS &&
        rc != ERR_BAD_INPUT)
        check(rc, what); /* not a refusal: a failure of the call itself */
    if (rc < 0)
        printf("command: %s -> refused: %s\n", what, reason(rc));
    else
        printf("command: %s -> event #%d\n", what, seq);
    return rc < 0 ? 0 : seq;
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    ViewMsg_ref v;
    LedgerMsg_ref l;
    check(casty_spawn(sys, &v, view_actor, "balances"), "spawn view");
    check(casty_spawn(sys, &l, ledger_actor, "ledger", .arg = &v, .arg_len = sizeof(v)),
          "spawn ledger");

    int seq = 0, last = 0, rc;
    rc = casty_ask_timeout(l, &seq, 1000, Open, .account = acct("alice"));
    outcome("open alice", rc, seq);
    rc = casty_ask_timeout(l, &seq, 1000, Open, .account = acct("bob"));
    outcome("open bob", rc, seq);
    rc = casty_ask_timeout(l, &seq, 1000, Deposit, .account = acct("alice"), .amount = 100);
    outcome("deposit 100 to alice", rc, seq);
    rc = casty_ask_timeout(l, &seq, 1000, Withdraw, .account = acct("alice"), .amount = 30);
    last = outcome("withdraw 30 from alice", rc, seq);
    rc = casty_ask_timeout(l, &seq, 1000, Withdraw, .account = acct("bob"), .amount = 500);
    outcome("withdraw 500 from bob", rc, seq);
    rc = casty_ask_timeout(l, &seq, 1000, Deposit, .account = acct("carol"), .amount = 50);
    outcome("deposit 50 to carol", rc, seq);
    rc = casty_ask_timeout(l, &seq, 1000, Open, .account = acct("alice"));
    outcome("open alice", rc, seq);

    Row r;
    check(casty_ask_timeout(v, &r, 1000, Query, .account = acct("alice")), "query");
    printf("query at once: alice has %d, the view has applied %d of %d events%s\n", r.balance,
           r.applied, last, r.applied < last ? " (stale)" : "");

    /* Read your writes: wait (up to 5 s) for the view to reach the last event we made. */
    Row bob;
    check(casty_ask_timeout(v, &r, 5000, QueryAfter, .account = acct("alice"), .seq = last),
          "query after");
    check(casty_ask_timeout(v, &bob, 1000, Query, .account = acct("bob")), "query bob");
    printf("query after event #%d: alice has %d in %d transactions, bob has %d\n", last, r.balance,
           r.transactions, bob.balance);

    Journal j;
    check(casty_ask_timeout(l, &j, 1000, GetJournal), "journal");
    printf("journal:");
    for (int i = 0; i < j.n; i++) {
        const Event *e = &j.events[i];
        printf("%s#%d %s %s", i ? " | " : " ", e->seq, kind_names[e->kind], e->account.s);
        if (e->kind != OPENED)
            printf(" %d", e->amount);
    }
    printf("\n");

    check(casty_system_stop(sys), "stop");
    return 0;
}
