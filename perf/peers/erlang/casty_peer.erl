%% W1-W6 (WORKLOADS.md) written for Erlang/OTP with its ordinary primitives:
%% processes, `!` and selective `receive`, and gen_server:call for the ask of
%% W6. Built and run by scripts/bench.sh --peers (perf/peers/peers.sh). Prints
%% the same lines as the Casty programs, with "erlang" as the runtime and the
%% scheduler count as the placement:
%%   placement=same-shard  erl +S 1 (every process on one scheduler thread)
%%   placement=scheduler   erl +S 2, schedulers bound to cores (+sbt db)
%% Busy-poll is +sbwt very_long (schedulers spin long before sleeping).
%%
%% usage: erl -noshell +S N ... -pa DIR -run casty_peer main W1 [n=N] [ring=M]
%%            [hops=T] [window=W] [busy=0|1]
-module(casty_peer).
-export([main/1]).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).

main([Workload | Args]) ->
    Opts = maps:from_list([parse_opt(A) || A <- Args]),
    try
        run(Workload, Opts),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "casty_peer: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

parse_opt(A) ->
    [K, V] = string:split(A, "="),
    {list_to_atom(K), list_to_integer(V)}.

opt(K, Opts, Default) -> maps:get(K, Opts, Default).

now_ns() -> erlang:monotonic_time(nanosecond).

%% Peak and current resident set of the VM, from /proc (KiB).
rss_kb(Key) ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- string:split(binary_to_list(Bin), "\n", all),
                   lists:prefix(Key, L)],
    list_to_integer(string:trim(lists:nth(2, string:lexemes(Line, " \t")))).

placement() ->
    case erlang:system_info(schedulers_online) of
        1 -> "same-shard";
        _ -> "scheduler"
    end.

sched(Opts) ->
    io_lib:format(" shards=~B idle=~s",
                  [erlang:system_info(schedulers_online),
                   case opt(busy, Opts, 0) of 1 -> "busy-poll"; _ -> "sleep" end]).

rate(N, T) -> round(N / (T / 1.0e9)).

%% ---- W1 / W2 ping-pong ----

-define(SAMPLE_EVERY, 16).

echo() ->
    receive
        {ball, From, X} -> From ! {ball, self(), X}, echo();
        stop -> ok
    end.

%% A sends 1, then x+1 while x < N; every SAMPLE_EVERY-th round trip is timed.
serve(Peer, N, Sample) ->
    Peer ! {ball, self(), 1},
    serve_loop(Peer, N, Sample, 0, []).

serve_loop(Peer, N, Sample, Mark, Acc) ->
    receive
        {ball, Peer, X} ->
            Acc1 = case Mark of 0 -> Acc; _ -> [now_ns() - Mark | Acc] end,
            if
                X >= N -> Acc1;
                true ->
                    Mark1 = case Sample andalso (X + 1) rem ?SAMPLE_EVERY =:= 0 of
                                true -> now_ns();
                                false -> 0
                            end,
                    Peer ! {ball, self(), X + 1},
                    serve_loop(Peer, N, Sample, Mark1, Acc1)
            end
    end.

pingpong(Opts, Tag) ->
    N = opt(n, Opts, 2000000),
    Cross = Tag =:= "W2",
    B = spawn(fun echo/0),
    Me = self(),
    Play = fun(Rounds, Sample) ->
                   A = spawn(fun() -> Me ! {played, serve(B, Rounds, Sample)} end),
                   receive {played, S} -> {A, S} end
           end,
    Play(min(N, 10000), false),
    T0 = now_ns(),
    {_, Samples} = Play(N, Cross),
    T = now_ns() - T0,
    io:format("~s erlang rate=~B ns_per_msg=~.1f", [Tag, rate(N, T), T / (2 * N)]),
    case Cross of
        true ->
            Sorted = list_to_tuple(lists:sort(Samples)),
            Len = tuple_size(Sorted),
            io:format(" oneway_p50_ns=~.1f oneway_p99_ns=~.1f",
                      [element(Len div 2 + 1, Sorted) / 2,
                       element(Len * 99 div 100 + 1, Sorted) / 2]);
        false -> ok
    end,
    io:format(" n=~B placement=~s~s~n", [N, placement(), sched(Opts)]),
    B ! stop.

%% ---- W3 fan-in, with the same credit window as w3_fanin.c ----

-define(BATCH, 1024).
-define(ACK_DIVISOR, 4).

receiver(Total, Main) -> receiver(Total, Main, 0, 0, 0).

receiver(Total, Main, Count, Done, End) ->
    receive
        {num, _} ->
            C = Count + 1,
            receiver(Total, Main, C, Done, stamp(C, Total, End));
        {numack, From, _} ->
            From ! ack,
            C = Count + 1,
            receiver(Total, Main, C, Done, stamp(C, Total, End));
        done when Done =:= 1, Count =:= Total ->
            Main ! {finished, End};
        done ->
            receiver(Total, Main, Count, Done + 1, End)
    end.

stamp(C, C, _) -> now_ns();
stamp(_, _, End) -> End.

%% A `cont` message to itself yields after a batch; at most one is pending, so
%% an ack that arrives meanwhile only counts its credit.
sender(To, N, W) ->
    receive go -> ok end,
    pump(To, N, W, 0, 0).

sender_loop(_, N, _, Sent, _, _) when Sent > N -> ok;
sender_loop(To, N, W, Sent, Acked, ContPending) ->
    receive
        cont -> pump(To, N, W, Sent, Acked);
        ack when ContPending -> sender_loop(To, N, W, Sent, Acked + W div ?ACK_DIVISOR, true);
        ack -> pump(To, N, W, Sent, Acked + W div ?ACK_DIVISOR)
    end.

pump(To, N, W, Sent, Acked) ->
    {Sent1, Status} = send_batch(To, N, W, Sent, Acked, ?BATCH),
    sender_loop(To, N, W, Sent1, Acked, Status =:= cont).

%% Send up to K messages; stop early when the window is used up.
send_batch(To, N, _, N, _, _) -> To ! done, {N + 1, done};
send_batch(_, _, W, Sent, Acked, _) when W > 0, Sent - Acked >= W -> {Sent, waiting};
send_batch(_, _, _, Sent, _, 0) -> self() ! cont, {Sent, cont};
send_batch(To, N, W, Sent, Acked, K) ->
    case W > 0 andalso (Sent + 1) rem (W div ?ACK_DIVISOR) =:= 0 of
        true -> To ! {numack, self(), Sent};
        false -> To ! {num, Sent}
    end,
    send_batch(To, N, W, Sent + 1, Acked, K - 1).

fanin(Opts) ->
    N = opt(n, Opts, 10000000),
    W = opt(window, Opts, 32768),
    Run = fun(Count) ->
                  Me = self(),
                  R = spawn(fun() -> receiver(2 * Count, Me) end),
                  Ss = [spawn(fun() -> sender(R, Count, W) end) || _ <- [1, 2]],
                  T0 = now_ns(),
                  [S ! go || S <- Ss],
                  receive {finished, End} -> End - T0 end
          end,
    Run(min(N, 100000)),
    T = Run(N),
    io:format("W3 erlang rate=~B ns_per_msg=~.2f maxrss_kb=~B n=~B msgs=~B window=~B"
              " placement=~s~s~n",
              [rate(2 * N, T), T / (2 * N), rss_kb("VmHWM:"), N, 2 * N, W, placement(),
               sched(Opts)]).

%% ---- W4 ring ----

member(Next, Main) ->
    receive
        {link, NewNext, From} -> From ! linked, member(NewNext, Main);
        {token, 0} -> Main ! {finished, now_ns()}, member(Next, Main);
        {token, T} -> Next ! {token, T - 1}, member(Next, Main);
        stop -> ok
    end.

ring(Opts) ->
    M = opt(ring, Opts, 1000),
    Hops = opt(hops, Opts, 1000000),
    Me = self(),
    %% Spawned from M-1 down to 0: each knows its successor at birth.
    Last = spawn(fun() -> member(none, Me) end),
    First = lists:foldl(fun(_, Next) -> spawn(fun() -> member(Next, Me) end) end,
                        Last, lists:seq(1, M - 1)),
    Last ! {link, First, self()},
    receive linked -> ok end,
    Run = fun(T) ->
                  T0 = now_ns(),
                  First ! {token, T},
                  receive {finished, End} -> End - T0 end
          end,
    Run(min(M, Hops)),
    T = Run(Hops),
    io:format("W4 erlang rate=~B ns_per_hop=~.1f ring=~B hops=~B placement=~s~s~n",
              [rate(Hops, T), T / Hops, M, Hops, placement(), sched(Opts)]).

%% ---- W5 spawn, W5i idle processes ----

collector(N, Main) -> collector(N, Main, 0).
collector(N, Main, N) -> Main ! {finished, now_ns()};
collector(N, Main, C) -> receive {item, _} -> collector(N, Main, C + 1) end.

spawner(0, _) -> ok;
spawner(K, Coll) ->
    W = spawn(fun() -> receive {work, X} -> Coll ! {item, X} end end),
    W ! {work, K},
    spawner(K - 1, Coll).

spawn_rate(Opts) ->
    N = opt(n, Opts, 1000000),
    Run = fun(Count) ->
                  Me = self(),
                  Coll = spawn(fun() -> collector(Count, Me) end),
                  T0 = now_ns(),
                  spawn(fun() -> spawner(Count, Coll) end),
                  receive {finished, End} -> End - T0 end
          end,
    Run(min(N, 10000)),
    Base = rss_kb("VmRSS:"),
    T = Run(N),
    io:format("W5 erlang spawns_per_s=~B ns_per_spawn=~.1f peak_rss_kb=~B base_rss_kb=~B"
              " n=~B batch=1 placement=~s~s~n",
              [rate(N, T), T / N, rss_kb("VmHWM:"), Base, N, placement(), sched(Opts)]).

idle(Opts) ->
    N = opt(n, Opts, 1000000),
    Before = rss_kb("VmRSS:"),
    %% A process exists, with its heap, once spawn/1 returns; the pids are
    %% not kept, so the driver holds no array.
    [spawn(fun() -> receive never -> ok end end) || _ <- lists:seq(1, N)],
    erlang:garbage_collect(),
    After = rss_kb("VmRSS:"),
    io:format("W5i erlang bytes_per_idle_actor=~.1f rss_before_kb=~B rss_after_kb=~B n=~B"
              " placement=~s~s~n",
              [(After - Before) * 1024 / N, Before, After, N, placement(), sched(Opts)]).

%% ---- W6 ask: a gen_server answering x with x+1 ----

init([]) -> {ok, nostate}.
handle_call(X, _From, S) -> {reply, X + 1, S}.
handle_cast(_, S) -> {noreply, S}.

asks(_, N, N, Acc) -> Acc;
asks(Server, I, N, Acc) ->
    T0 = now_ns(),
    Y = gen_server:call(Server, I, infinity),
    T = now_ns() - T0,
    Y = I + 1,
    asks(Server, I + 1, N, [T | Acc]).

ask(Opts) ->
    N = opt(n, Opts, 1000000),
    {ok, Server} = gen_server:start(?MODULE, [], []),
    Me = self(),
    Client = fun(Count) ->
                     spawn(fun() -> Me ! {asked, asks(Server, 0, Count, [])} end),
                     receive {asked, S} -> S end
             end,
    Client(min(N, 10000)),
    Sorted = list_to_tuple(lists:sort(Client(N))),
    P = fun(Q) -> element(min(N, trunc(Q * N) + 1), Sorted) end,
    Mean = lists:sum(tuple_to_list(Sorted)) / N,
    io:format("W6 erlang p50_ns=~B p99_ns=~B p999_ns=~B max_ns=~B mean_ns=~.1f n=~B"
              " placement=~s~s~n",
              [P(0.5), P(0.99), P(0.999), element(N, Sorted), Mean, N, placement(),
               sched(Opts)]).

run("W1", Opts) -> pingpong(Opts, "W1");
run("W2", Opts) -> pingpong(Opts, "W2");
run("W3", Opts) -> fanin(Opts);
run("W4", Opts) -> ring(Opts);
run("W5", Opts) -> spawn_rate(Opts);
run("W5i", Opts) -> idle(Opts);
run("W6", Opts) -> ask(Opts).
