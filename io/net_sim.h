/*
 * The simulated network: the second backend behind io/net.h. One casty_sim is
 * a world with a virtual clock, one event queue and one seeded PRNG; each
 * node added to it is a host with one IPv4 address and a casty_net whose ops
 * behave like the io_uring backend's, so protocol code (transport, SWIM) runs
 * unchanged, many nodes in one thread.
 *
 * Determinism: the same seed and the same sequence of calls give the same
 * sequence of events, bit for bit. Events are ordered by (virtual time,
 * sequence number); nothing depends on addresses or on the wall clock.
 *
 * Time moves only in casty_sim_step() (and run_until/run_for, which call it).
 * Every callback is called from inside it, never from an op call. A callback may call any
 * op of any node, and casty_sim_node_kill() (also on its own node); it must
 * not call casty_sim_step(), casty_sim_run_until() or casty_sim_destroy().
 *
 * What is modelled:
 *   - UDP: each datagram independently lost, duplicated or delayed extra
 *     (reordering) per the link between the two hosts; dropped when the pair
 *     is cut (at send and at arrival), or when no socket is bound at arrival.
 *   - TCP: reliable ordered byte streams. Loss on the link adds retransmit
 *     delay (200 ms per loss, doubling) and never loses bytes. RECV chunking
 *     is randomized: a send may arrive as several RECVs and consecutive sends
 *     may arrive as one. A receive window (per connection, bytes in flight
 *     plus bytes not yet delivered) holds back the sender: SENT completes
 *     only when its last byte has entered the window, so a paused receiver
 *     stalls its sender. Across a cut, bytes are held; held longer than
 *     tcp_timeout, both ends get CLOSED(-ETIMEDOUT). close() on one end: the
 *     peer receives what was in flight, then CLOSED(0).
 *   - Connect: SYN after one link delay, CONNECT after the round trip. No
 *     process listening (a port nobody listens on, or a host whose process
 *     was killed) gives -ECONNREFUSED after the round trip; an unreachable
 *     host (cut, vanished, unknown IP) gives -ETIMEDOUT after
 *     connect_timeout. SYNs are retransmitted after 1 s, doubling, so a heal
 *     before the timeout lets the connect succeed.
 *   - Timers: one-shot, per node, on the virtual clock; FIFO among equal
 *     deadlines; cancel is exact.
 *
 * Op details not fixed by io/net.h (chosen to match io/net_uring.c):
 *   - Handle numbers are dense per node; a freed number is reused only after
 *     at least 64 other numbers were freed, so a stale handle returns -EBADF
 *     (or -ENOENT for timer_cancel) in practice rather than hitting a new one.
 *     Timers share the numbering with sockets; close() also cancels a timer.
 *   - No such handle, or a handle of the wrong kind (send on a UDP socket,
 *     sendto on a stream, local_addr of a timer): -EBADF; timer_cancel of
 *     anything but a pending timer: -ENOENT. A send with no bytes: -EINVAL.
 *     send after CLOSED or a failed connect: -EPIPE.
 *   - A send issued before CONNECT waits for it. If the connect fails, that
 *     send reports SENT(-errno) first, then CONNECT(-errno); the handle is
 *     freed after that callback (closing it in the callback is fine too).
 *   - A stream that dies with a send in flight reports SENT(-errno) before
 *     CLOSED (so the buffers are known to be free).
 *   - A paused stream also holds back its CLOSED(0) until resumed (EOF is
 *     seen by reading).
 *   - local_addr of a socket bound to IP 0 reports IP 0 (like getsockname).
 *   - sendto returns -EAGAIN when the node has CASTY_SIM_DGRAM_INFLIGHT_MAX
 *     datagrams in flight. A timer delay above 2^62 ns: -EINVAL.
 *
 * Threads: a casty_sim and all its nodes belong to one thread.
 * Memory exhaustion inside casty_sim_step() aborts (an assertion): there is
 * no recovery that keeps a simulation deterministic. Ops return -ENOMEM.
 */
#ifndef CASTY_IO_NET_SIM_H
#define CASTY_IO_NET_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "io/net.h"

/* Datagrams one node may have in flight before sendto says -EAGAIN. */
#define CASTY_SIM_DGRAM_INFLIGHT_MAX 65536u
/* First ephemeral port (streams, and port-0 binds); per node, wraps at 65535. */
#define CASTY_SIM_EPHEMERAL_FIRST 40000u

typedef struct casty_sim casty_sim;

/*
 * The properties of the link between two hosts (both directions alike).
 * The all-zero link is valid: no delay, no loss.
 */
typedef struct casty_sim_link {
    uint64_t delay_min_ns, delay_max_ns; /* one-way latency, uniform in [min, max] */
    uint32_t loss_ppm;                   /* datagram loss (TCP: retransmit delay), per million */
    uint32_t dup_ppm;                    /* datagram duplication, per million */
    uint32_t reorder_ppm;                /* datagram gets an extra delay in [0, reorder_max_ns] */
    uint64_t reorder_max_ns;             /* (so that it overtakes, or is overtaken) */
} casty_sim_link;

/* TCP knobs; 0 in a field means its default. */
typedef struct casty_sim_tcp {
    uint64_t timeout_ns;         /* bytes held this long: CLOSED(-ETIMEDOUT); default 10 s */
    uint64_t connect_timeout_ns; /* CONNECT(-ETIMEDOUT) after this; default 3 s */
    uint32_t recv_window;        /* bytes per direction in flight + undelivered; 256 KiB */
} casty_sim_tcp;

/* Counters of the whole world. */
typedef struct casty_sim_stats {
    uint64_t events;          /* queue entries run by casty_sim_step() */
    uint64_t callbacks;       /* events delivered to a callback */
    uint64_t pending;         /* queue entries waiting now */
    uint64_t dgram_sent;      /* sendto calls that succeeded */
    uint64_t dgram_delivered; /* CASTY_NET_DGRAM events */
    uint64_t dgram_lost;      /* lost on the link (loss_ppm) */
    uint64_t dgram_dup;       /* extra copies made (dup_ppm) */
    uint64_t dgram_reordered; /* datagrams given the extra reorder delay */
    uint64_t dgram_cut;       /* dropped by a partition */
    uint64_t dgram_noport;    /* no live host or no socket at arrival */
    uint64_t stream_bytes;    /* bytes delivered in CASTY_NET_RECV events */
    uint64_t streams_opened;  /* connections accepted */
    uint64_t streams_reset;   /* connections ended by -ETIMEDOUT or -ECONNRESET */
} casty_sim_stats;

/*
 * A new world at virtual time 1 s, with the PRNG seeded from `seed` and
 * `defaults` as the link of every pair without one of its own (NULL: 100 to
 * 300 us, no loss). 0, -EINVAL (delay_min > delay_max, a ppm above 10^6) or
 * -ENOMEM.
 */
int casty_sim_create(casty_sim **out, uint64_t seed, const casty_sim_link *defaults);

/* Frees the world, every node in it and every pending event. Not from a callback. */
void casty_sim_destroy(casty_sim *sim);

/*
 * Adds a host with address `ip` and returns its casty_net in *out (owned by
 * the world). The IP of a killed node may be used again (a restart).
 * 0, -EINVAL (ip 0 or 0xffffffff), -EADDRINUSE (a live node has it), -ENOMEM.
 */
int casty_sim_node_add(casty_sim *sim, uint32_t ip, casty_net **out);

/*
 * Kills a node; its handles and timers are gone and `node` is freed at once
 * (even from inside one of its own callbacks; do not touch it afterwards).
 *   abrupt = false, the process died: each stream sends a FIN, so peers
 *     receive what was in flight, then CLOSED(0); the host stays up, so
 *     connects to it are refused until a node takes its IP again.
 *   abrupt = true, the host vanished: nothing more leaves it, peers' sends
 *     stall once the window fills and their streams get CLOSED(-ETIMEDOUT)
 *     tcp timeout after the kill; connects to its IP time out.
 * Datagrams already sent by it are still delivered.
 */
void casty_sim_node_kill(casty_net *node, bool abrupt);

/* The IP of a node made by casty_sim_node_add(). */
uint32_t casty_sim_node_ip(const casty_net *node);

/* The link between ip_a and ip_b, both directions (a == b: a host to itself). NULL: the defaults. 0 or -EINVAL/-ENOMEM. */
int casty_sim_set_link(casty_sim *sim, uint32_t ip_a, uint32_t ip_b, const casty_sim_link *link);

/* Cut (true) or heal (false) the pair, both directions. 0 or -EINVAL/-ENOMEM. */
int casty_sim_partition(casty_sim *sim, uint32_t ip_a, uint32_t ip_b, bool cut);

/* Heal every cut pair. */
void casty_sim_heal_all(casty_sim *sim);

/*
 * TCP knobs (NULL: all defaults). The window applies to connections made
 * afterwards, the timeouts from now on. 0, or -EINVAL (window above 1 GiB).
 */
int casty_sim_set_tcp(casty_sim *sim, const casty_sim_tcp *tcp);

/* Virtual time in ns; starts at 1 s, never 0, never goes back. */
uint64_t casty_sim_now(const casty_sim *sim);

/* Runs the earliest event (advancing the clock to it): true, or false when none is pending. */
bool casty_sim_step(casty_sim *sim);

/*
 * Runs every event due at or before t_ns (including those the callbacks add),
 * then sets the clock to t_ns if it is later. Loops forever if callbacks keep
 * adding events at the same instant (a zero-delay timer re-armed from itself).
 */
void casty_sim_run_until(casty_sim *sim, uint64_t t_ns);

/* Runs for `ns` of virtual time from now. */
void casty_sim_run_for(casty_sim *sim, uint64_t ns);

/*
 * A hash of every event delivered to a callback so far (kind, time, node IP,
 * handle, result, tag, address, length and bytes): equal hashes for two runs
 * mean equal event sequences, for determinism checks.
 */
uint64_t casty_sim_trace_hash(const casty_sim *sim);

void casty_sim_stats_get(const casty_sim *sim, casty_sim_stats *out);

#endif
