#!/usr/bin/env python3
"""Where the harness process's CPU goes, from a `perf record -g` profile of it.

    benchmarks/profile-breakdown.py PERF_DATA [--process NAME]

Reads `perf script` of the samples of the `almanac-bench` process (every thread: NIO's event
loops, Swift's cooperative pool, libdispatch's threads), demangles them with `swift demangle`,
and puts each sample in the category of the frame nearest its leaf that matches one of the
rules below (a socket write reached from PostgresNIO counts as socket I/O, since that is where
the time is spent). PostgreSQL's and wrk's samples are in the same file but not counted: they
are other processes. `benchmarks/run profile` records the profile and runs this.
"""

import argparse
import collections
import re
import shutil
import subprocess
import sys

# Nearest-to-leaf match wins; the first rule that matches a frame names its category.
RULES = [
    ("socket I/O and epoll (kernel and NIO's channel plumbing)",
     r"Socket\.(write|writev|read)|SocketProtocol|BaseSocketChannel|BaseStreamSocketChannel|"
     r"PendingWritesManager|Selector\.|SelectableEventLoop\._blockingWaitForWork|epoll_wait"),
    ("task hops and thread wake-ups (Swift concurrency, libdispatch, futex)",
     r"swift_task_(create|enqueue|switch|alloc|dealloc|future|sleep|cancel)|swift_continuation|"
     r"AsyncTask::(flagAsAndEnqueue|completeFuture|waitFuture)|withStatusRecordLock|"
     r"_dispatch_(root_queue_poke|semaphore|mgr|timer|event_loop|queue_push|async_f|continuation_alloc)|"
     r"sem_post|sem_wait|futex|SelectableEventLoop\._schedule0|NIOAsyncWriter|"
     r"NIOThrowingAsyncSequenceProducer|withCheckedThrowingContinuation|CheckedContinuation"),
    ("JSON (Foundation coders, request and response bodies, event payloads)",
     r"JSONDecoder|JSONEncoder|__JSONEncoder|JSONValue|JSONWriter|EventCoding|TodoJSON|TodoRequests"),
    ("this project's database layer (statement watch, named statements, leases)",
     r"CloseWatch|FirstOutcome|PostgresConnection\.(run|watched|closeIfNamedStatementUnusable)|"
     r"PostgresClient\.(leased|run)|\bPrepared<|EventLoopExecutor|withTransactionOnConnectionLoop"),
    ("PostgresNIO (statements, rows, pool; user space)",
     r"PostgresChannelHandler|PostgresConnection|PSQL|PostgresRow|PostgresQuery|PostgresBind|"
     r"PostgresClient|ConnectionPool|PreparedStatementStateMachine|PostgresFrontendMessage|"
     r"PostgresBackendMessage|PostgresCell|PostgresDecodable|PostgresEncodable"),
    ("load generator's HTTP client (AsyncHTTPClient, in this process)",
     r"HTTP1ClientChannelHandler|HTTPClient|HTTP1Connection|RequestBag|HTTPConnectionPool|"
     r"AlmanacHTTP|HTTPRequestStateMachine|HTTP1ConnectionStateMachine"),
    ("HTTP server (Hummingbird, NIOHTTP1, middleware)",
     r"Hummingbird|HTTPServer|HTTP1Channel|HTTPDecoder|HTTPResponseEncoder|HTTPRequestEncoder|"
     r"llhttp|BetterHTTPParser|Router|Responder|RequestDeadline|HTTPMetrics|RequestLog|"
     r"RequestTracing|AuthMiddleware|KnownAPIKeys|LoopbackGuard|AppRequestContext"),
    ("projection (log tail, projector, calendar store, rendering)",
     r"Projection|Projector|CalendarStore|LogTail|ComponentRenderer|FragmentRenderer|ICal|"
     r"Checkpoints|FeedCache|Wakeups"),
    ("commands (executor, todo service, tables, event store)",
     r"CommandExecutor|TodoService|TodoTable|TodoRoutes|EventStore|UserTable|TodoCommands"),
    ("metrics, logging, tracing",
     r"Metrics|Logger|Logging|swift_log|Counter|Recorder|Histogram|Prometheus|Tracer|Span"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in RULES]
# Allocation and reference counting where they are the leaf, reported across the categories (a
# sample whose stack perf could unwind still goes to the category of its caller; malloc and free
# in glibc usually cannot be unwound, and those samples end up unattributed).
MEMORY = re.compile(
    r"^(malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|__libc_malloc|"
    r"swift_retain|swift_release|swift_allocObject|swift_deallocObject|_swift_release_dealloc|"
    r"swift_bridgeObjectRetain|swift_bridgeObjectRelease)"
)
OTHER = "unattributed (malloc and free whose callers perf cannot unwind, Swift runtime, libc)"


def samples(perf_data):
    """Yields (pid, comm, frames leaf first) of every sample, demangled."""
    script = subprocess.Popen(
        ["perf", "script", "-i", perf_data, "-F", "comm,pid,ip,sym"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    demangle = subprocess.Popen(
        ["swift", "demangle", "--simplified"], stdin=script.stdout, stdout=subprocess.PIPE, text=True,
        errors="replace",
    )
    script.stdout.close()
    header, frames = None, []
    for line in demangle.stdout:
        if not line.strip():
            continue
        if not line[0].isspace():
            if header:
                yield header[0], header[1], frames
            fields = line.split()
            # "comm pid:" with a comm that may contain spaces: the pid is the last field.
            pid = fields[-1].rstrip(":")
            header, frames = (pid, " ".join(fields[:-1])), []
            continue
        parts = line.strip().split(" ", 1)
        frames.append(parts[1] if len(parts) == 2 else parts[0])
    if header:
        yield header[0], header[1], frames
    demangle.wait()
    script.wait()


def category(frames):
    for frame in frames:
        for name, pattern in COMPILED:
            if pattern.search(frame):
                return name
    return OTHER


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("perf_data")
    parser.add_argument("--process", default="almanac-bench", help="the main thread's name of the process to count")
    args = parser.parse_args()
    for tool in ("perf", "swift"):
        if not shutil.which(tool):
            sys.exit(f"profile-breakdown: {tool} is not installed")

    every = list(samples(args.perf_data))
    # The process with the most samples among those with a thread of that name (a child forked
    # by it carries the name until it executes another program).
    named = collections.Counter(pid for pid, comm, _ in every if comm == args.process)
    if not named:
        sys.exit(f"profile-breakdown: no sample of a process named {args.process} in {args.perf_data}")
    everywhere = collections.Counter(pid for pid, _, _ in every)
    pids = {max(named, key=lambda pid: everywhere[pid])}
    counts, threads, unattributed = collections.Counter(), collections.Counter(), collections.Counter()
    others = collections.Counter()
    total = memory = 0
    for pid, comm, frames in every:
        if pid in pids:
            total += 1
            name = category(frames)
            counts[name] += 1
            if name == OTHER and frames:
                unattributed[frames[0]] += 1
            memory += bool(frames) and bool(MEMORY.match(frames[0]))
            threads[comm] += 1
        else:
            others[comm] += 1
    everything = total + sum(others.values())
    print(f"{args.process}: {total} of {everything} samples ({100 * total / everything:.1f} %); "
          f"the rest: " + ", ".join(f"{comm} {100 * n / everything:.1f} %" for comm, n in others.most_common(4)))
    print()
    print("| where this process's CPU goes | share |")
    print("|---|---|")
    for name, n in counts.most_common():
        print(f"| {name} | {100 * n / total:.1f} % |")
    print()
    print(f"allocation and reference counting (malloc, free, retain, release as the leaf), "
          f"across the categories: {100 * memory / total:.1f} %")
    print("unattributed, by leaf: " + ", ".join(
        f"{symbol[:40]} {100 * n / total:.1f} %" for symbol, n in unattributed.most_common(5)))
    print("threads: " + ", ".join(f"{comm} {100 * n / total:.1f} %" for comm, n in threads.most_common(6)))


if __name__ == "__main__":
    main()
