/*
 * A chat server: rooms and users are actors. A user joins a room, the room
 * broadcasts every post (and every join and leave) to its other members, and
 * a user may leave. When a user's actor crashes, its rooms learn it through
 * death watch: a room watches every member (casty_watch) and receives one
 * CASTY_TYPE_TERMINATED message when that member dies, with the reason and
 * the crash's error, so no room keeps sending to a dead user.
 *
 * Users are spawned with the Stop strategy: a crash stops the user (the
 * default strategy would restart it with an empty transcript instead).
 *
 * Each user keeps what it received. Lines from one room reach a user in the
 * order the room sent them (FIFO per sender and receiver); lines from two
 * rooms may interleave either way, so the transcripts are printed room by room.
 *
 * Expected output:
 *   lobby: alice, bob and carol joined. c-lang: alice and carol joined
 *   alice -> lobby: hi all (to 2 members)
 *   carol -> c-lang: anyone into C? (to 1 member)
 *   bob crashed. lobby saw it through death watch, 2 members left
 *   carol left lobby, 1 member left
 *   dave joined lobby, 2 members
 *   alice -> lobby: welcome dave (to 1 member)
 *   alice, in c-lang: * carol joined | carol: anyone into C?
 *   alice, in lobby: * bob joined | * carol joined | * bob crashed (EIO) | * carol left | * dave joined
 *   carol, in lobby: alice: hi all | * bob crashed (EIO)
 *   dave, in lobby: alice: welcome dave
 *   bob: gone (EDEAD)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define NAME_LEN    12
#define MAX_MEMBERS 8
#define MAX_LINES   16

/* Arrays inside structs copy by value: a Name or a Line can be a message field. */
typedef struct {
    char s[NAME_LEN];
} Name;

typedef struct {
    char s[40];
} Text;

typedef struct {
    Name room;
    char text[52];
} Line;

/* --- a user: keeps what it receives --- */

typedef struct {
    int n;
    Line lines[MAX_LINES];
} Transcript;

CASTY_MESSAGE(Deliver, Line line);
CASTY_MESSAGE(GetTranscript);
CASTY_MESSAGE(Crash);
CASTY_PROTOCOL(UserMsg, Deliver, GetTranscript, Crash);

typedef struct {
    Transcript t;
} User;

static int user(casty_ctx *ctx, User *self, const casty_msg *msg)
{
    switch ((enum UserMsg_type)casty_type(msg)) {
    case CASTY_ID(Deliver):
        if (self->t.n < MAX_LINES)
            self->t.lines[self->t.n++] = CASTY_AS(msg, Deliver)->line;
        return 0;
    case CASTY_ID(GetTranscript):
        return casty_reply(ctx, Transcript, self->t);
    case CASTY_ID(Crash):
        return -EIO; /* a bug in the user's code: the actor crashes */
    }
    return 0;
}
CASTY_ACTOR(user_actor, UserMsg, User, user);

/* --- a room --- */

CASTY_MESSAGE(Join, UserMsg_ref user; Name name);
CASTY_MESSAGE(Leave, UserMsg_ref user);
CASTY_MESSAGE(Post, UserMsg_ref from; Text text);
CASTY_MESSAGE(CountMembers);
CASTY_PROTOCOL(RoomMsg, Join, Leave, Post, CountMembers);

typedef struct {
    UserMsg_ref ref;
    Name name;
} Member;

typedef struct {
    Name name; /* the room's name, from the spawn arg */
    int n;
    Member members[MAX_MEMBERS];
} Room;

static int room_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(Name))
        return -EINVAL;
    memcpy(&((Room *)state)->name, arg, len);
    return 0;
}

static int find_member(const Room *self, casty_ref who)
{
    for (int i = 0; i < self->n; i++)
        if (casty_ref_eq(self->members[i].ref.raw, who))
            return i;
    return -1;
}

/* Send a line to every member but `except` (-1: all); returns how many got it, or an error. */
static int broadcast(const Room *self, int except, const char *text)
{
    Line line = {.room = self->name};
    snprintf(line.text, sizeof(line.text), "%s", text);
    int sent = 0;
    for (int i = 0; i < self->n; i++) {
        if (i == except)
            continue;
        int rc = casty_tell(self->members[i].ref, Deliver, .line = line);
        if (rc < 0)
            return rc;
        sent++;
    }
    return sent;
}

static void remove_member(Room *self, int i)
{
    self->members[i] = self->members[--self->n];
}

static int on_join(casty_ctx *ctx, Room *self, const Join *j)
{
    if (find_member(self, j->user.raw) >= 0)
        return casty_reply(ctx, int, self->n);
    if (self->n == MAX_MEMBERS)
        return casty_reply_error(ctx, -ENOSPC);
    /* From now on, if this user dies, this room receives a Terminated for it. */
    int rc = casty_watch(ctx, j->user.raw);
    if (rc < 0)
        return rc;
    char text[40];
    snprintf(text, sizeof(text), "* %s joined", j->name.s);
    rc = broadcast(self, -1, text);
    if (rc < 0)
        return rc;
    self->members[self->n++] = (Member){.ref = j->user, .name = j->name};
    return casty_reply(ctx, int, self->n);
}

static int on_leave(casty_ctx *ctx, Room *self, const Leave *l)
{
    int i = find_member(self, l->user.raw);
    if (i < 0)
        return casty_reply_error(ctx, -ENOENT);
    /* A user who left on purpose is no longer our concern. */
    int rc = casty_unwatch(ctx, l->user.raw);
    if (rc < 0)
        return rc;
    char text[40];
    snprintf(text, sizeof(text), "* %s left", self->members[i].name.s);
    remove_member(self, i);
    rc = broadcast(self, -1, text);
    if (rc < 0)
        return rc;
    return casty_reply(ctx, int, self->n);
}

/* A watched member died: drop it and tell the others why. */
static int on_terminated(Room *self, const casty_terminated *t)
{
    int i = find_member(self, t->actor);
    if (i < 0)
        return 0;
    char text[40];
    if (t->reason == CASTY_EXIT_FAILED)
        snprintf(text, sizeof(text), "* %s crashed (%s)", self->members[i].name.s,
                 t->error == -EIO ? "EIO" : casty_err_name(t->error));
    else
        snprintf(text, sizeof(text), "* %s is gone", self->members[i].name.s);
    remove_member(self, i);
    int rc = broadcast(self, -1, text);
    return rc < 0 ? rc : 0;
}

static int room(casty_ctx *ctx, Room *self, const casty_msg *msg)
{
    /* Runtime messages first: their type ids are outside the protocol's enum. */
    const casty_terminated *t = casty_as_terminated(msg);
    if (t)
        return on_terminated(self, t);

    switch ((enum RoomMsg_type)casty_type(msg)) {
    case CASTY_ID(Join):
        return on_join(ctx, self, CASTY_AS(msg, Join));
    case CASTY_ID(Leave):
        return on_leave(ctx, self, CASTY_AS(msg, Leave));
    case CASTY_ID(Post): {
        const Post *p = CASTY_AS(msg, Post);
        int i = find_member(self, p->from.raw);
        if (i < 0)
            return casty_reply_error(ctx, -EPERM); /* only members may post */
        char text[64];
        snprintf(text, sizeof(text), "%s: %s", self->members[i].name.s, p->text.s);
        int sent = broadcast(self, i, text);
        return sent < 0 ? sent : casty_reply(ctx, int, sent);
    }
    case CASTY_ID(CountMembers):
        return casty_reply(ctx, int, self->n);
    }
    return 0;
}
CASTY_ACTOR(room_actor, RoomMsg, Room, room, .init = room_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static const casty_supervision stop_on_crash = {.directive = CASTY_STOP};

static UserMsg_ref spawn_user(casty_system *sys, const char *name)
{
    UserMsg_ref u;
    check(casty_spawn(sys, &u, user_actor, name, .supervision = &stop_on_crash), "spawn user");
    return u;
}

static RoomMsg_ref spawn_room(casty_system *sys, const char *name)
{
    Name n = {{0}};
    snprintf(n.s, sizeof(n.s), "%s", name);
    RoomMsg_ref r;
    check(casty_spawn(sys, &r, room_actor, name, .arg = &n, .arg_len = sizeof(n)), "spawn room");
    return r;
}

static int join(RoomMsg_ref r, UserMsg_ref u, const char *name)
{
    Name n = {{0}};
    snprintf(n.s, sizeof(n.s), "%s", name);
    int members = 0;
    check(casty_ask_timeout(r, &members, 1000, Join, .user = u, .name = n), "join");
    return members;
}

static void post(RoomMsg_ref r, const char *room, UserMsg_ref u, const char *who, const char *text)
{
    Text t = {{0}};
    snprintf(t.s, sizeof(t.s), "%s", text);
    int sent = 0;
    check(casty_ask_timeout(r, &sent, 1000, Post, .from = u, .text = t), "post");
    printf("%s -> %s: %s (to %d member%s)\n", who, room, text, sent, sent == 1 ? "" : "s");
}

static int members(RoomMsg_ref r)
{
    int n = -1;
    check(casty_ask_timeout(r, &n, 1000, CountMembers), "members");
    return n;
}

/*
 * The broadcasts travel on their own after each ask returns: wait (with a
 * deadline) until a user has received `n` lines, then fetch its transcript.
 */
static Transcript transcript(UserMsg_ref u, int n)
{
    Transcript t = {0};
    for (int i = 0; i < 2000; i++) {
        check(casty_ask_timeout(u, &t, 1000, GetTranscript), "transcript");
        if (t.n >= n)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    }
    return t;
}

static void print_room_lines(const char *who, const Transcript *t, const char *room)
{
    printf("%s, in %s:", who, room);
    const char *sep = " ";
    for (int i = 0; i < t->n; i++) {
        if (strcmp(t->lines[i].room.s, room) != 0)
            continue;
        printf("%s%s", sep, t->lines[i].text);
        sep = " | ";
    }
    printf("\n");
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    RoomMsg_ref lobby = spawn_room(sys, "lobby");
    RoomMsg_ref clang = spawn_room(sys, "c-lang");
    UserMsg_ref alice = spawn_user(sys, "alice");
    UserMsg_ref bob = spawn_user(sys, "bob");
    UserMsg_ref carol = spawn_user(sys, "carol");

    join(lobby, alice, "alice");
    join(lobby, bob, "bob");
    join(lobby, carol, "carol");
    join(clang, alice, "alice");
    join(clang, carol, "carol");
    printf("lobby: alice, bob and carol joined. c-lang: alice and carol joined\n");

    post(lobby, "lobby", alice, "alice", "hi all");
    post(clang, "c-lang", carol, "carol", "anyone into C?");

    /* Bob's actor crashes; the lobby hears it through death watch, in its own time. */
    check(casty_tell(bob, Crash), "crash bob");
    for (int i = 0; i < 2000 && members(lobby) != 2; i++)
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    printf("bob crashed. lobby saw it through death watch, %d members left\n", members(lobby));

    int left = 0;
    check(casty_ask_timeout(lobby, &left, 1000, Leave, .user = carol), "leave");
    printf("carol left lobby, %d member left\n", left);

    UserMsg_ref dave = spawn_user(sys, "dave");
    printf("dave joined lobby, %d members\n", join(lobby, dave, "dave"));
    post(lobby, "lobby", alice, "alice", "welcome dave");

    /* What each user saw: 7 lines for alice, 2 for carol, 1 for dave. */
    Transcript ta = transcript(alice, 7), tc = transcript(carol, 2), td = transcript(dave, 1);
    print_room_lines("alice", &ta, "c-lang");
    print_room_lines("alice", &ta, "lobby");
    print_room_lines("carol", &tc, "lobby");
    print_room_lines("dave", &td, "lobby");
    Transcript tb;
    int rc = casty_ask_timeout(bob, &tb, 1000, GetTranscript);
    printf("bob: %s (%s)\n", rc == -CASTY_EDEAD ? "gone" : "still here?", casty_err_name(rc));

    check(casty_system_stop(sys), "stop");
    return 0;
}
