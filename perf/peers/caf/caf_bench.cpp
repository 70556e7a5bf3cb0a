// W1-W6 (WORKLOADS.md) written for CAF 0.17, the C++ Actor Framework, with its
// ordinary API: event-based stateful actors, send, request().then() inside
// actors, scoped_actor with a blocking request().receive() outside, spawn.
// Built and run by scripts/bench.sh --peers (perf/peers/peers.sh); not part of
// the CMake build. Prints the same lines as the Casty programs, with "caf" as
// the runtime and the scheduler's thread count as the placement:
//   placement=same-shard  CAF with one scheduler thread (every actor on one core)
//   placement=scheduler   CAF's work-stealing scheduler with --threads threads
//   placement=outside     a blocking ask from the main thread (W6)
//
// usage: caf_bench W1|W2|W3|W4|W5|W5i|W6 [--n N] [--threads T] [--busy-poll]
//                  [--ring M] [--hops T] [--window W] [--outside]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <time.h>
#include <vector>

#include "caf/all.hpp"

using namespace caf;

using serve_atom = atom_constant<atom("serve")>;
using ball_atom = atom_constant<atom("ball")>;
using num_atom = atom_constant<atom("num")>;
using numack_atom = atom_constant<atom("numack")>;
using ack_atom = atom_constant<atom("ack")>;
using go_atom = atom_constant<atom("go")>;
using cont_atom = atom_constant<atom("cont")>;
using done_atom = atom_constant<atom("done")>;
using token_atom = atom_constant<atom("token")>;
using link_atom = atom_constant<atom("link")>;
using work_atom = atom_constant<atom("work")>;
using item_atom = atom_constant<atom("item")>;
using ping_atom = atom_constant<atom("ping")>;
using run_atom = atom_constant<atom("run")>;

namespace {

struct options {
    std::string workload;
    int64_t n = -1, ring = 1000, hops = 1000000, window = 32768, batch = 1, throughput = 0;
    size_t threads = 2;
    bool busy = false, outside = false;
};

int64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long rss_kb(bool peak)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    const char *key = peak ? "VmHWM:" : "VmRSS:";
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, strlen(key)))
            kb = atol(line + strlen(key));
    if (f)
        fclose(f);
    return kb;
}

const char *placement(const options &o)
{
    return o.outside ? "outside" : o.threads == 1 ? "same-shard" : "scheduler";
}

// What the line says about the scheduler: threads and idle behaviour.
std::string sched(const options &o)
{
    return " shards=" + std::to_string(o.threads) + " idle=" + (o.busy ? "busy-poll" : "sleep");
}

// ---- W1 / W2 ping-pong ----

struct player_state {
    int64_t n = 0, mark = 0;
    std::vector<int64_t> *samples = nullptr;
    response_promise done;
};
constexpr int64_t sample_every = 16;

behavior player(stateful_actor<player_state> *self)
{
    return {
        [=](serve_atom, const actor &peer, int64_t n, uintptr_t samples) {
            auto &s = self->state;
            s.n = n;
            s.mark = 0;
            s.samples = reinterpret_cast<std::vector<int64_t> *>(samples);
            s.done = self->make_response_promise();
            self->send(peer, ball_atom::value, int64_t{1});
        },
        [=](ball_atom, int64_t x) {
            auto &s = self->state;
            auto back = actor_cast<actor>(self->current_sender());
            if (s.n == 0) { // the echoing player
                self->send(back, ball_atom::value, x);
                return;
            }
            if (s.samples && s.mark) {
                (*s.samples)[size_t(x / sample_every - 1)] = now_ns() - s.mark;
                s.mark = 0;
            }
            if (x >= s.n) {
                s.done.deliver(x);
                return;
            }
            if (s.samples && (x + 1) % sample_every == 0)
                s.mark = now_ns();
            self->send(back, ball_atom::value, x + 1);
        },
    };
}

void pingpong(actor_system &sys, const options &o, bool cross)
{
    int64_t n = o.n < 0 ? 2000000 : o.n;
    scoped_actor self{sys};
    auto a = sys.spawn(player), b = sys.spawn(player);
    std::vector<int64_t> samples(cross ? size_t(n / sample_every) : 0);
    auto play = [&](int64_t rounds, std::vector<int64_t> *s) {
        self->request(a, infinite, serve_atom::value, b, rounds, uintptr_t(s))
            .receive([&](int64_t) {}, [&](error &e) { throw std::runtime_error(to_string(e)); });
    };
    play(std::min<int64_t>(n, 10000), nullptr);
    int64_t t0 = now_ns();
    play(n, cross ? &samples : nullptr);
    double t = double(now_ns() - t0);
    printf("%s caf rate=%.0f ns_per_msg=%.1f", cross ? "W2" : "W1", n / (t / 1e9), t / (2.0 * n));
    if (cross && !samples.empty()) {
        std::sort(samples.begin(), samples.end());
        printf(" oneway_p50_ns=%.1f oneway_p99_ns=%.1f", samples[samples.size() / 2] / 2.0,
               samples[samples.size() * 99 / 100] / 2.0);
    }
    printf(" n=%lld placement=%s%s\n", (long long)n, cross ? "scheduler" : placement(o),
           sched(o).c_str());
    anon_send_exit(a, exit_reason::user_shutdown);
    anon_send_exit(b, exit_reason::user_shutdown);
}

// ---- W3 fan-in, with the same credit window as w3_fanin.c ----

constexpr int64_t batch = 1024, ack_divisor = 4;

struct receiver_state {
    int64_t total = 0, count = 0, done = 0, end = 0;
    actor main;
};

behavior receiver(stateful_actor<receiver_state> *self, int64_t total, actor main)
{
    self->state.total = total;
    self->state.main = main;
    auto finish = [=] {
        auto &s = self->state;
        if (s.count == s.total && s.done == 2)
            self->send(s.main, done_atom::value, s.end, int64_t{0});
    };
    return {
        [=](num_atom, int64_t) {
            if (++self->state.count == self->state.total)
                self->state.end = now_ns();
        },
        [=](numack_atom, int64_t) {
            self->send(actor_cast<actor>(self->current_sender()), ack_atom::value);
            if (++self->state.count == self->state.total)
                self->state.end = now_ns();
        },
        [=](done_atom) {
            self->state.done++;
            finish();
        },
    };
}

struct sender_state {
    int64_t n = 0, window = 0, sent = 0, acked = 0;
    bool cont_pending = false;
    actor to;
};

void pump(stateful_actor<sender_state> *self)
{
    auto &s = self->state;
    if (s.cont_pending || s.sent >= s.n)
        return;
    for (int64_t k = 0; k < batch && s.sent < s.n; k++, s.sent++) {
        if (s.window && s.sent - s.acked >= s.window)
            return; // the next ack pumps again
        if (s.window && (s.sent + 1) % (s.window / ack_divisor) == 0)
            self->send(s.to, numack_atom::value, s.sent);
        else
            self->send(s.to, num_atom::value, s.sent);
    }
    if (s.sent < s.n) {
        s.cont_pending = true;
        self->send(self, cont_atom::value);
    } else {
        self->send(s.to, done_atom::value);
    }
}

behavior sender(stateful_actor<sender_state> *self, actor to, int64_t n, int64_t window)
{
    self->state.to = to;
    self->state.n = n;
    self->state.window = window;
    return {
        [=](go_atom) { pump(self); },
        [=](cont_atom) {
            self->state.cont_pending = false;
            pump(self);
        },
        [=](ack_atom) {
            self->state.acked += self->state.window / ack_divisor;
            pump(self);
        },
    };
}

void fanin(actor_system &sys, const options &o)
{
    int64_t n = o.n < 0 ? 10000000 : o.n;
    scoped_actor self{sys};
    auto run = [&](int64_t count) {
        auto r = sys.spawn(receiver, 2 * count, actor{self});
        auto s0 = sys.spawn(sender, r, count, o.window), s1 = sys.spawn(sender, r, count, o.window);
        int64_t t0 = now_ns(), end = 0;
        self->send(s0, go_atom::value);
        self->send(s1, go_atom::value);
        self->receive([&](done_atom, int64_t e, int64_t) { end = e; });
        for (auto &a : {r, s0, s1})
            anon_send_exit(a, exit_reason::user_shutdown);
        return double(end - t0);
    };
    run(std::min<int64_t>(n, 100000));
    double t = run(n);
    printf("W3 caf rate=%.0f ns_per_msg=%.2f maxrss_kb=%ld n=%lld msgs=%lld window=%lld"
           " placement=%s%s\n",
           2 * n / (t / 1e9), t / (2.0 * n), rss_kb(true), (long long)n, (long long)(2 * n),
           (long long)o.window, placement(o), sched(o).c_str());
}

// ---- W4 ring ----

struct member_state {
    actor next, main;
};

behavior member(stateful_actor<member_state> *self, actor next, actor main)
{
    self->state.next = next;
    self->state.main = main;
    return {
        [=](link_atom, const actor &a) -> int64_t {
            self->state.next = a;
            return 0;
        },
        [=](token_atom, int64_t t) {
            if (t == 0)
                self->send(self->state.main, done_atom::value, now_ns(), int64_t{0});
            else
                self->send(self->state.next, token_atom::value, t - 1);
        },
    };
}

void ring(actor_system &sys, const options &o)
{
    scoped_actor self{sys};
    std::vector<actor> members;
    actor next; // spawned from M-1 down to 0: each knows its successor at birth
    for (int64_t i = o.ring - 1; i >= 0; i--) {
        next = sys.spawn(member, next, actor{self});
        members.push_back(next);
    }
    self->request(members.front(), infinite, link_atom::value, next)
        .receive([](int64_t) {}, [&](error &e) { throw std::runtime_error(to_string(e)); });
    auto run = [&](int64_t hops) {
        int64_t t0 = now_ns(), end = 0;
        self->send(next, token_atom::value, hops);
        self->receive([&](done_atom, int64_t e, int64_t) { end = e; });
        return double(end - t0);
    };
    run(std::min(o.ring, o.hops));
    double t = run(o.hops);
    printf("W4 caf rate=%.0f ns_per_hop=%.1f ring=%lld hops=%lld placement=%s%s\n",
           o.hops / (t / 1e9), t / double(o.hops), (long long)o.ring, (long long)o.hops,
           placement(o), sched(o).c_str());
    for (auto &m : members)
        anon_send_exit(m, exit_reason::user_shutdown);
}

// ---- W5 spawn, W5i idle actors ----

behavior worker(event_based_actor *self, actor collector)
{
    return {[=](work_atom, int64_t x) {
        self->send(collector, item_atom::value, x);
        self->quit();
    }};
}

behavior collector(stateful_actor<int64_t> *self, int64_t n, actor main)
{
    return {[=](item_atom, int64_t) {
        if (++self->state == n)
            self->send(main, done_atom::value, now_ns(), int64_t{0});
    }};
}

// --batch spawns per message (w5_spawn.c's default is 1).
behavior spawner(stateful_actor<int64_t> *self, int64_t n, int64_t batch, actor coll)
{
    auto step = [=] {
        for (int64_t k = 0; k < batch && self->state < n; k++, self->state++) {
            auto w = self->spawn<lazy_init>(worker, coll);
            self->send(w, work_atom::value, self->state);
        }
        if (self->state < n)
            self->send(self, cont_atom::value);
    };
    return {[=](go_atom) { step(); }, [=](cont_atom) { step(); }};
}

void spawn_rate(actor_system &sys, const options &o)
{
    int64_t n = o.n < 0 ? 1000000 : o.n;
    scoped_actor self{sys};
    auto run = [&](int64_t count) {
        auto c = sys.spawn(collector, count, actor{self});
        auto s = sys.spawn(spawner, count, o.batch, c);
        int64_t t0 = now_ns(), end = 0;
        self->send(s, go_atom::value);
        self->receive([&](done_atom, int64_t e, int64_t) { end = e; });
        anon_send_exit(s, exit_reason::user_shutdown);
        anon_send_exit(c, exit_reason::user_shutdown);
        return double(end - t0);
    };
    run(std::min<int64_t>(n, 10000));
    long base = rss_kb(false);
    double t = run(n);
    printf("W5 caf spawns_per_s=%.0f ns_per_spawn=%.1f peak_rss_kb=%ld base_rss_kb=%ld n=%lld"
           " batch=%lld placement=%s%s\n",
           n / (t / 1e9), t / double(n), rss_kb(true), base, (long long)n, (long long)o.batch,
           placement(o), sched(o).c_str());
}

behavior idle_actor(event_based_actor *)
{
    return {[](ping_atom) -> int64_t { return 0; }};
}

void idle(actor_system &sys, const options &o)
{
    int64_t n = o.n < 0 ? 1000000 : o.n;
    scoped_actor self{sys};
    long before = rss_kb(false);
    std::vector<actor> all;
    all.reserve(size_t(n)); // the driver's own array, subtracted below
    long with_array = rss_kb(false);
    for (int64_t i = 0; i < n; i++)
        all.push_back(sys.spawn(idle_actor));
    // Every actor has started once it has answered a ping.
    for (auto &a : all)
        self->send(a, ping_atom::value);
    for (int64_t i = 0; i < n; i++)
        self->receive([](int64_t) {});
    long after = rss_kb(false);
    long array_kb = with_array - before;
    printf("W5i caf bytes_per_idle_actor=%.1f rss_before_kb=%ld rss_after_kb=%ld n=%lld"
           " placement=%s%s\n",
           double(after - before - array_kb) * 1024.0 / double(n), before, after, (long long)n,
           placement(o), sched(o).c_str());
    for (auto &a : all)
        anon_send_exit(a, exit_reason::user_shutdown);
}

// ---- W6 ask ----

behavior server(event_based_actor *)
{
    return {[](int64_t x) { return x + 1; }};
}

struct client_state {
    actor server;
    int64_t n = 0, i = 0, sent = 0;
    std::vector<int64_t> *samples = nullptr;
    response_promise done;
};

void ask_next(stateful_actor<client_state> *self)
{
    auto &s = self->state;
    s.sent = now_ns();
    self->request(s.server, infinite, s.i).then([=](int64_t y) {
        auto &st = self->state;
        int64_t t = now_ns() - st.sent;
        if (y != st.i + 1)
            abort();
        if (st.samples)
            (*st.samples)[size_t(st.i)] = t;
        if (++st.i < st.n)
            ask_next(self);
        else
            st.done.deliver(st.i);
    });
}

behavior client(stateful_actor<client_state> *self)
{
    return {[=](run_atom, const actor &srv, int64_t n, uintptr_t samples) {
        self->state.server = srv;
        self->state.n = n;
        self->state.i = 0;
        self->state.samples = reinterpret_cast<std::vector<int64_t> *>(samples);
        self->state.done = self->make_response_promise();
        ask_next(self);
    }};
}

void ask(actor_system &sys, const options &o)
{
    int64_t n = o.n < 0 ? 1000000 : o.n;
    scoped_actor self{sys};
    auto srv = sys.spawn(server);
    std::vector<int64_t> samples(static_cast<size_t>(n));
    auto run = [&](int64_t count, std::vector<int64_t> *s) {
        if (o.outside) {
            for (int64_t i = 0; i < count; i++) {
                int64_t t0 = now_ns();
                self->request(srv, infinite, i).receive(
                    [&](int64_t y) {
                        if (y != i + 1)
                            abort();
                    },
                    [&](error &e) { throw std::runtime_error(to_string(e)); });
                if (s)
                    (*s)[size_t(i)] = now_ns() - t0;
            }
            return;
        }
        auto c = sys.spawn(client);
        self->request(c, infinite, run_atom::value, srv, count, uintptr_t(s))
            .receive([](int64_t) {}, [&](error &e) { throw std::runtime_error(to_string(e)); });
        anon_send_exit(c, exit_reason::user_shutdown);
    };
    run(std::min<int64_t>(n, 10000), nullptr);
    run(n, &samples);
    std::sort(samples.begin(), samples.end());
    double mean = 0;
    for (auto v : samples)
        mean += double(v) / double(n);
    auto pct = [&](double q) { return samples[std::min(size_t(n - 1), size_t(q * double(n)))]; };
    printf("W6 caf p50_ns=%lld p99_ns=%lld p999_ns=%lld max_ns=%lld mean_ns=%.1f n=%lld"
           " placement=%s%s\n",
           (long long)pct(0.5), (long long)pct(0.99), (long long)pct(0.999),
           (long long)samples.back(), mean, (long long)n, placement(o), sched(o).c_str());
    anon_send_exit(srv, exit_reason::user_shutdown);
}

int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s W1|W2|W3|W4|W5|W5i|W6 [--n N] [--threads T] [--busy-poll] [--ring M]"
            " [--hops T] [--window W] [--outside]\n",
            prog);
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    options o;
    if (argc < 2)
        return usage(argv[0]);
    o.workload = argv[1];
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> int64_t { return i + 1 < argc ? atoll(argv[++i]) : -1; };
        if (a == "--n")
            o.n = next();
        else if (a == "--threads")
            o.threads = size_t(next());
        else if (a == "--ring")
            o.ring = next();
        else if (a == "--hops")
            o.hops = next();
        else if (a == "--throughput")
            o.throughput = next();
        else if (a == "--batch")
            o.batch = next();
        else if (a == "--window")
            o.window = next();
        else if (a == "--busy-poll")
            o.busy = true;
        else if (a == "--outside")
            o.outside = true;
        else
            return usage(argv[0]);
    }
    actor_system_config cfg;
    cfg.set("scheduler.max-threads", o.threads);
    if (o.throughput > 0)
        cfg.set("scheduler.max-throughput", size_t(o.throughput));
    if (o.busy) // poll for work this many times before backing off to sleeping: in effect, never
        cfg.set("work-stealing.aggressive-poll-attempts", size_t{1} << 40);
    actor_system sys{cfg};
    if (o.workload == "W1" || o.workload == "W2")
        pingpong(sys, o, o.workload == "W2");
    else if (o.workload == "W3")
        fanin(sys, o);
    else if (o.workload == "W4")
        ring(sys, o);
    else if (o.workload == "W5")
        spawn_rate(sys, o);
    else if (o.workload == "W5i")
        idle(sys, o);
    else if (o.workload == "W6")
        ask(sys, o);
    else
        return usage(argv[0]);
    return 0;
}
