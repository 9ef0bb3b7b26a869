"""4. Slow clients: 40 connections that send their request slowly (headers byte by byte, or a
body byte by byte) or read large answers very slowly (a user's todo list of several MB and a
large feed, with a 4 KiB receive buffer), while normal requests (health, an authenticated
list, a feed poll) must each be answered within NORMAL_BOUND seconds.

Also: idle connections (one that never sends, one idle after a keep-alive request) must be
closed by the server within Mode.idle_bound seconds; and SIGTERM with the slow clients still
connected must make the server exit within 10 s.

The server runs with --feed-cache-mb 1 so the large feed (larger than the budget) takes the
documented streaming path, while the small feeds come from the cache.
"""

from __future__ import annotations

import signal
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import MODE, budget
from harness import auth, fail_if, feed_path

# Below the server's --request-timeout (5 s in the campaign): a starved request would reach it
# and be refused; 4 s leaves room for a 2-core machine that is also busy elsewhere.
NORMAL_BOUND = 4.0
SLOW_HEADERS = 8
SLOW_BODIES = 4
SLOW_LIST_READERS = 14     # with the feed readers, more streams than the 20 PostgreSQL connections
SLOW_FEED_READERS = 14
IDLE_SILENT = 3
IDLE_KEEPALIVE = 3


def connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


class Watched:
    """A connection whose fate is recorded: when the server closed or reset it."""

    def __init__(self, kind: str, sock: socket.socket):
        self.kind = kind
        self.sock = sock
        self.opened = time.monotonic()
        self.closed_after: float | None = None
        self.how = "open"
        self.bytes_read = 0

    def mark(self, how: str) -> None:
        if self.closed_after is None:
            self.closed_after = time.monotonic() - self.opened
            self.how = how


def slow_sender(w: Watched, payload: bytes, interval: float, stop: threading.Event) -> None:
    try:
        for i in range(len(payload)):
            if stop.wait(interval):
                return
            w.sock.sendall(payload[i:i + 1])
        # Everything sent: see what the server answers.
        w.sock.settimeout(1)
        while not stop.is_set():
            try:
                data = w.sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                w.mark("closed by server")
                return
            w.bytes_read += len(data)
    except (BrokenPipeError, ConnectionResetError) as e:
        w.mark(f"{type(e).__name__}")
    except OSError as e:
        w.mark(f"OSError {e.errno}")


def slow_reader(w: Watched, request: bytes, chunk: int, interval: float, stop: threading.Event) -> None:
    try:
        w.sock.sendall(request)
        w.sock.settimeout(1)
        while not stop.wait(interval):
            try:
                data = w.sock.recv(chunk)
            except socket.timeout:
                continue
            if not data:
                w.mark("closed by server")
                return
            w.bytes_read += len(data)
    except (BrokenPipeError, ConnectionResetError) as e:
        w.mark(type(e).__name__)
    except OSError as e:
        w.mark(f"OSError {e.errno}")


def idle_watch(w: Watched, bound: float, stop: threading.Event) -> None:
    w.sock.settimeout(0.5)
    while time.monotonic() - w.opened < bound and not stop.is_set():
        try:
            data = w.sock.recv(4096)
        except socket.timeout:
            continue
        except (ConnectionResetError, OSError) as e:
            w.mark(type(e).__name__)
            return
        if not data:
            w.mark("closed by server")
            return
        w.bytes_read += len(data)


def create_big_user(server, n: int) -> tuple[str, str]:
    key = server.create_user("bigreader")
    description = ("The quick brown fox, jumps; over the lazy dog\\n " * 250)[:10_000]

    def make(i: int) -> int:
        r = requests.post(server.base + "/api/v1/todos", headers=auth(key), timeout=30, json={
            "title": f"big {i}", "description": description,
            "deadline_at": f"2031-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:15:00"})
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = Counter(pool.map(make, range(n)))
    assert codes == Counter({201: n}), f"creating the big user's todos: {codes}"
    return key, feed_path(server.base, key)


@pytest.mark.timeout(budget(150, 600))
def test_slow_clients_do_not_starve_normal_requests(pg, server_factory, figures):
    server = server_factory(pg.url, name="slow", extra_args=["--feed-cache-mb", "1"])
    server.start()
    port = server.base.rsplit(":", 1)[1]
    port = int(port)
    big_key, big_feed = create_big_user(server, MODE.slow_todos)
    small_key = server.create_user("smallreader")
    for i in range(5):
        requests.post(server.base + "/api/v1/todos", headers=auth(small_key), timeout=15,
                      json={"title": f"small {i}", "deadline_at": "2031-03-03"}).raise_for_status()
    small_feed = feed_path(server.base, small_key)
    list_size = len(requests.get(server.base + "/api/v1/todos", headers=auth(big_key), timeout=60).content)
    feed_size = len(requests.get(server.base + big_feed, timeout=60).content)
    figures["large answers"] = f"list {list_size:,} bytes, feed {feed_size:,} bytes ({MODE.slow_todos} todos)"

    stop = threading.Event()
    threads: list[threading.Thread] = []
    watched: list[Watched] = []
    problems: list[str] = []

    def spawn(target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        threads.append(t)
        t.start()

    try:
        # Idle connections first, so they have the longest time to be closed.
        for _ in range(IDLE_SILENT):
            w = Watched("idle, never sent a byte", connect(port))
            watched.append(w)
            spawn(idle_watch, w, MODE.idle_bound, stop)
        for _ in range(IDLE_KEEPALIVE):
            s = connect(port)
            s.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            first = s.recv(4096)
            assert first.startswith(b"HTTP/1.1 200"), f"keep-alive health answer: {first[:80]!r}"
            w = Watched("idle after a keep-alive request", s)
            watched.append(w)
            spawn(idle_watch, w, MODE.idle_bound, stop)

        headers = (f"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: slowloris\r\n"
                   + "".join(f"X-Pad-{i}: {'a' * 20}\r\n" for i in range(40)) + "\r\n").encode()
        for _ in range(SLOW_HEADERS):
            w = Watched("sends headers one byte / 0.3 s", connect(port))
            watched.append(w)
            spawn(slow_sender, w, headers, 0.3, stop)
        body = b'{"title": "' + b"s" * 1970 + b'"}'
        for _ in range(SLOW_BODIES):
            w = Watched("sends a body one byte / 0.3 s", connect(port))
            watched.append(w)
            req = (f"POST /api/v1/todos HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {small_key}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            w.sock.sendall(req)
            spawn(slow_sender, w, body, 0.3, stop)
        list_req = (f"GET /api/v1/todos HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Authorization: Bearer {big_key}\r\n\r\n").encode()
        feed_req = f"GET {big_feed} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        for _ in range(SLOW_LIST_READERS):
            w = Watched("reads the large list 256 B / 0.5 s", connect(port, rcvbuf=4096))
            watched.append(w)
            spawn(slow_reader, w, list_req, 256, 0.5, stop)
        for _ in range(SLOW_FEED_READERS):
            w = Watched("reads the large feed 256 B / 0.5 s", connect(port, rcvbuf=4096))
            watched.append(w)
            spawn(slow_reader, w, feed_req, 256, 0.5, stop)
        slow_count = SLOW_HEADERS + SLOW_BODIES + SLOW_LIST_READERS + SLOW_FEED_READERS
        figures["connections"] = (f"{slow_count} slow ({SLOW_HEADERS} slow headers, {SLOW_BODIES} slow bodies, "
                                  f"{SLOW_LIST_READERS} slow list readers, {SLOW_FEED_READERS} slow feed readers) "
                                  f"+ {IDLE_SILENT + IDLE_KEEPALIVE} idle")
        # Wait (bounded) until every slow reader's answer has started to arrive (or was cut off).
        readers = [w for w in watched if w.kind.startswith("reads")]
        started_by = time.monotonic() + 10.0
        while time.monotonic() < started_by and not all(
                w.bytes_read > 0 or w.closed_after is not None for w in readers):
            time.sleep(0.05)

        # Normal requests, one after another, each on a new connection.
        latencies: dict[str, list[float]] = defaultdict(list)
        slow_answers: list[str] = []
        normal = [
            ("health", "/api/v1/health", {}),
            ("authenticated list", "/api/v1/todos", auth(small_key)),
            ("feed poll", small_feed, {}),
        ]
        end = time.monotonic() + MODE.slow_seconds
        rounds = 0
        while time.monotonic() < end or rounds < 2:
            rounds += 1
            for name, path, hdrs in normal:
                started = time.monotonic()
                try:
                    r = requests.get(server.base + path, headers=hdrs, timeout=NORMAL_BOUND + 3)
                    elapsed = time.monotonic() - started
                    outcome = str(r.status_code)
                except requests.RequestException as e:
                    elapsed = time.monotonic() - started
                    outcome = type(e).__name__
                latencies[name].append(elapsed)
                if outcome != "200" or elapsed > NORMAL_BOUND:
                    slow_answers.append(f"{name}: {outcome} after {elapsed:.2f} s")
            # Pacing: one round of normal requests every 100 ms or so, like a few ordinary clients.
            time.sleep(0.1)
        for name, values in latencies.items():
            figures[f"normal {name}"] = (f"{len(values)} requests, p50 {statistics.median(values) * 1000:.0f} ms, "
                                         f"max {max(values) * 1000:.0f} ms")
        if slow_answers:
            problems.append(
                f"{len(slow_answers)} of {sum(map(len, latencies.values()))} normal requests were not answered 200 "
                f"within {NORMAL_BOUND} s while {slow_count} slow clients were connected: "
                f"{Counter(a.split(':')[0] for a in slow_answers)}; e.g. {slow_answers[:6]}")

        # Idle connections: wait until their bound has passed.
        first_open = min(w.opened for w in watched)
        while time.monotonic() - first_open < MODE.idle_bound + 1:
            if all(w.closed_after is not None for w in watched if w.kind.startswith("idle")):
                break
            time.sleep(0.5)
        fates: dict[str, list[str]] = defaultdict(list)
        for w in watched:
            fates[w.kind].append(f"{w.how} after {w.closed_after:.1f} s" if w.closed_after is not None else "open")
        for kind, values in fates.items():
            c = Counter(v if v == "open" else v.split(" after ")[0] for v in values)
            times = [float(v.split(" after ")[1][:-2]) for v in values if v != "open"]
            figures[f"fate: {kind}"] = (dict(c) | ({"closed after (s)": f"{min(times):.1f}–{max(times):.1f}"} if times else {}))
        idle = [w for w in watched if w.kind.startswith("idle")]
        still_open = [w for w in idle if w.closed_after is None]
        if still_open:
            problems.append(f"{len(still_open)} of {len(idle)} idle connections (never sent a byte, or idle after a "
                            f"keep-alive request) were still open after {MODE.idle_bound:.0f} s: the server does not "
                            f"close idle connections (no idle/read timeout)")
        readers = [w for w in watched if w.kind.startswith("reads")]
        figures["slow readers, bytes received"] = f"{sum(w.bytes_read for w in readers):,} in total"

        # SIGTERM with the slow clients still connected.
        open_before = [w for w in watched if w.closed_after is None]
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        try:
            code = server.proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - started
        # What the shutdown itself closed (noticed by the watchers before any kill).
        closed_by_shutdown = Counter(w.kind for w in open_before if w.closed_after is not None)
        left_open = Counter(w.kind for w in open_before if w.closed_after is None)
        server.kill()
        figures["during SIGTERM, closed by the server"] = dict(closed_by_shutdown)
        figures["during SIGTERM, left open (until the kill)"] = dict(left_open) if code is None else "none (exited)"
        figures["SIGTERM with slow clients connected"] = (
            f"exit after {seconds:.2f} s (code {code})" if code is not None else f"not exited after {seconds:.1f} s: killed")
        if code is None:
            problems.append(f"SIGTERM with {len(open_before)} slow/idle connections open: the server had not exited "
                            f"after 10 s (killed); it closed {dict(closed_by_shutdown)} and kept {dict(left_open)} open")
    finally:
        stop.set()
        for w in watched:
            try:
                w.sock.close()
            except OSError:
                pass
        for t in threads:
            t.join(2)
    fail_if(problems, server)
