"""9. Crash of the Kafka fan-out: `kill -9` of `almanac relay` and of `almanac project --source
kafka` mid-stream, under the write load of 8 clients, and restart them. Every acknowledged write
must be there, every user's feed must equal a full regeneration, and nothing may be duplicated.

The processes: a PostgreSQL cluster, a Kafka broker (`almanac dev-kafka`: librdkafka's mock
cluster, 1 broker, a topic of 3 partitions), `almanac serve --no-projector` (the API only: no
projector, no job worker), `almanac relay --bus kafka` and one `almanac project --source kafka`
(the projector and the job worker that runs the `full` jobs).

Each kill: the load runs for a moment, the process group is killed with SIGKILL, the load goes on
for DOWN_SECONDS (its writes pile up behind the dead process), then a projection job
(`POST /api/v1/todos/ical`, settled once the user's calendar reaches the stream version at
submission) is submitted for every user, and must still be pending (the pipeline really stopped);
the process is restarted and every one of those jobs must succeed within CATCH_UP_BOUND seconds
(the backlog of the outage reached the feeds). Relay and projector are killed alternately
(ROUNDS times each), then both at once. The relay is killed right after one of its batches
reached the topic (followed by a consumer of our own); in even rounds with its checkpoint row
locked, so that the kill certainly falls between the broker's acknowledgement and the
checkpoint (see HeldCheckpoint): the restarted relay must publish that batch again.

Afterwards (load stopped): every acknowledged write is present (`verify_durability`), every
feed equals a full regeneration (`feeds_converge`: the `full` job, run by the projector's job
worker, reports matches_incremental and /feeds/<token>.ics equals its result), and each user's
`?format=vtodo` feed holds exactly one VTODO per todo of the list: no duplicate UID, none missing.
The topic, read from the beginning: every version 1..head of every user's stream is on it at
least once, each stream on one partition, none beyond the head; with a republished batch, some
event is on it twice (the duplicates the projector had to ignore).

The projector gets `session.timeout.ms=6000`: a member killed with SIGKILL never leaves its
consumer group, so its partitions are reassigned only when its session expires (librdkafka's
default is 45 s; librdkafka 2.0's mock cluster also holds a group's first join for 3 s).
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
import requests

from conftest import MODE, budget
from harness import (AlmanacProcess, _as_pg_user, TodoModel, WriteLoad, auth, fail_if, feed_path, feeds_converge,
                     list_todos, verify_durability)

USERS = ("jo", "kai", "lia")
TOPIC = "almanac.campaign"
GROUP = "campaign-projectors"
PARTITIONS = 3
PROJECTOR_SETTINGS = ("session.timeout.ms=6000", "heartbeat.interval.ms=500", "fetch.wait.max.ms=100")
DOWN_SECONDS = 1.5          # load while the killed process is down
CATCH_UP_BOUND = 40.0       # restart -> the outage's backlog in every feed (session timeout 6 s included)
START_BOUND = 60.0          # first start: the projector joins its group, the first writes reach the feeds
ROUNDS = 2 if MODE.name == "quick" else 5   # kills of each process
WRITE_KINDS = ("create", "update", "complete")


def submit_projection_jobs(base: str, users: dict[str, str]) -> dict[str, str]:
    """A projection job per user (target: the stream version now); their status paths."""
    paths = {}
    for name, key in users.items():
        r = requests.post(base + "/api/v1/todos/ical", headers=auth(key), timeout=15)
        if r.status_code != 202:
            raise AssertionError(f"POST /api/v1/todos/ical as {name}: {r.status_code} {r.text[:300]}")
        paths[name] = urlsplit(r.json()["task_url"]).path
    return paths


def pending_jobs(base: str, users: dict[str, str], paths: dict[str, str]) -> dict[str, str]:
    """The jobs not yet SUCCESS, with their status (a FAILURE is reported, not waited for)."""
    out = {}
    for name, path in paths.items():
        r = requests.get(base + path, headers=auth(users[name]), timeout=15)
        status = r.json().get("task_status") if r.status_code == 200 else f"HTTP {r.status_code}"
        if status != "SUCCESS":
            out[name] = status
    return out


def wait_caught_up(base: str, users: dict[str, str], paths: dict[str, str], bound: float) -> dict[str, str]:
    """Polls the jobs until all succeed or `bound` seconds pass; what is still pending."""
    deadline = time.monotonic() + bound
    while True:
        left = pending_jobs(base, users, paths)
        if not left or any(s == "FAILURE" or s.startswith("HTTP") for s in left.values()):
            return left
        if time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def read_topic(brokers: str, bound: float = 30.0) -> list[tuple[int, int, dict]]:
    """Every message of the topic, (partition, offset, envelope), read from the beginning with a
    client of our own (confluent-kafka, no consumer group: nothing is committed)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "campaign-reader", "enable.auto.commit": False,
                         "enable.partition.eof": True, "log_level": 3})
    try:
        ends = {}
        for partition in range(PARTITIONS):
            _, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)
            ends[partition] = high
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in ends])
        out: list[tuple[int, int, dict]] = []
        done = {p for p, high in ends.items() if high == 0}
        deadline = time.monotonic() + bound
        while len(done) < len(ends):
            if time.monotonic() >= deadline:
                raise AssertionError(f"reading the topic: not at the end of partitions "
                                     f"{sorted(set(ends) - done)} after {bound} s (ends {ends}, read {len(out)})")
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        done.add(m.partition())
                    continue
                raise AssertionError(f"reading the topic: {m.error()}")
            if m.offset() < ends[m.partition()]:
                out.append((m.partition(), m.offset(), json.loads(m.value())))
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
        return out
    finally:
        consumer.close()


class HeldCheckpoint:
    """A psql session locking `checkpoints` against writes (the relay's checkpoint, name
    `bus-relay`, is the only one written in this shape): the relay publishes its next batch, gets
    the broker's acknowledgement and then waits to save its checkpoint. A table lock, not a row
    lock: `SELECT … FOR UPDATE` takes a transaction id, and an open transaction with an id holds
    the cluster-wide gap-safe horizon back, so the relay could read nothing newer and, once caught
    up, had no batch left to publish (a flaky "nothing reached the topic" in round 2). Killed then, it leaves a published batch behind an unsaved
    checkpoint; its orphaned save (PostgreSQL does not notice the dead client while the statement
    waits for the lock) is terminated before the lock is released, as if the kill had come
    between the acknowledgement and the save. The restarted relay must publish the batch again."""

    def __init__(self, pg):
        cmd = _as_pg_user([str(pg.bindir / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                           "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.ask("BEGIN")
        self.ask("LOCK TABLE checkpoints IN SHARE MODE")
        locked = self.ask("SELECT count(*) FROM checkpoints WHERE name = 'bus-relay'")
        if locked != "1":
            self.release()
            raise AssertionError(f"could not lock the relay's checkpoint row: {locked!r}")

    def ask(self, sql: str) -> str:
        """Runs one statement; its one-line answer ('' for none)."""
        self.proc.stdin.write(f"{sql};\n\\echo END\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"psql ended: {''.join(lines)!r}")
            if line.strip() == "END":
                return "".join(lines).strip()
            lines.append(line)

    WAITERS = ("FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)) "
               "AND query LIKE 'INSERT INTO checkpoints%'")

    def wait_for_waiter(self, bound: float) -> bool:
        """Whether the relay's checkpoint save came to wait for this lock within `bound` s."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            self.ask("SELECT pg_stat_clear_snapshot()")
            if int(self.ask(f"SELECT count(*) {self.WAITERS}") or 0) > 0:
                return True
            time.sleep(0.05)
        return False

    def release(self) -> int:
        """Terminates the waiting save(s), releases the lock; how many saves were terminated."""
        try:
            self.ask("SELECT pg_stat_clear_snapshot()")
            terminated = int(self.ask(f"SELECT count(pg_terminate_backend(pid)) {self.WAITERS}") or 0)
            self.ask("ROLLBACK")
            self.proc.stdin.write("\\q\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
            return terminated
        except (OSError, ValueError, AssertionError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=15)
            return 0


class TopicTail:
    """Follows the end of the topic (no consumer group), to kill the relay the moment one of its
    batches reached the broker: the relay saves its checkpoint only after the broker's
    acknowledgement, so a kill then often finds the batch published and the checkpoint not yet
    saved (the restarted relay publishes it again)."""

    def __init__(self, brokers: str):
        from confluent_kafka import OFFSET_END, Consumer, TopicPartition

        self.consumer = Consumer({"bootstrap.servers": brokers, "group.id": "campaign-tail",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 5,
                                  "fetch.error.backoff.ms": 5, "log_level": 3})
        self.consumer.assign([TopicPartition(TOPIC, p, OFFSET_END) for p in range(PARTITIONS)])

    def next_message(self, bound: float) -> bool:
        """Skips what was already received, then waits for the next message; False if none came."""
        self.skip_received()
        return self.wait_for_message(bound)

    def skip_received(self) -> None:
        """Drops what the consumer has already fetched."""
        while self.consumer.poll(0) is not None:
            pass

    def wait_for_message(self, bound: float) -> bool:
        """Waits for a message not yet taken; False if none came within `bound` s."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            m = self.consumer.poll(min(0.5, max(0.0, deadline - time.monotonic())))
            if m is not None and not m.error():
                return True
        return False

    def close(self) -> None:
        self.consumer.close()


def check_topic(messages: list[tuple[int, int, dict]], heads: dict[int, int]) -> tuple[list[str], dict]:
    """The relay's contract on the topic: every event of every stream (versions 1...head) at
    least once, each stream on one partition (key = user), no version beyond the stream's head.

    Not required: a stream's versions in increasing order. The relay publishes in the store's
    gap-safe commit order, (txid, position), and a transaction can take its txid before another
    one appends an earlier version of the same stream (4-10 % of the events under this load
    follow a higher version of their stream in that order); the projector reads the events from
    the store, so a hint ahead of its predecessors fills the gap and they become no-ops. Counted.
    """
    problems: list[str] = []
    by_stream: dict[int, list[tuple[int, int, int]]] = {}
    for partition, offset, envelope in messages:
        by_stream.setdefault(envelope["stream_id"], []).append((partition, offset, envelope["version"]))
    copies = Counter((e["stream_id"], e["version"]) for _, _, e in messages)
    inversions = 0
    for stream, head in heads.items():
        got = sorted(by_stream.get(stream, []))
        partitions = {p for p, _, _ in got}
        if len(partitions) > 1:
            problems.append(f"stream {stream}: on partitions {sorted(partitions)} (one key, one partition)")
        seen: set[int] = set()
        for _, _, version in got:
            if version not in seen and seen and version < max(seen):
                inversions += 1
            seen.add(version)
        missing = sorted(set(range(1, head + 1)) - seen)
        if missing:
            problems.append(f"stream {stream}: {len(missing)} of its {head} events never published: "
                            f"versions {missing[:10]}")
        beyond = sorted(v for v in seen if v > head)
        if beyond:
            problems.append(f"stream {stream}: versions beyond the stream's head {head} published: {beyond[:5]}")
    figures = {"messages": len(messages), "events": len(copies),
               "events published more than once": sum(1 for n in copies.values() if n > 1),
               "extra copies": sum(n - 1 for n in copies.values()),
               "first copies after a higher version of their stream": inversions}
    return problems, figures


def unfold(ics: str) -> list[str]:
    lines: list[str] = []
    for raw in ics.replace("\r\n", "\n").split("\n"):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def vtodo_uids(base: str, path: str) -> list[str]:
    r = requests.get(base + path + "?format=vtodo", timeout=30)
    r.raise_for_status()
    uids, inside = [], False
    for line in unfold(r.content.decode()):
        if line == "BEGIN:VTODO":
            inside = True
        elif line == "END:VTODO":
            inside = False
        elif inside and line.startswith("UID:"):
            uids.append(line[4:])
    return uids


@pytest.mark.timeout(budget(180, 900))
def test_crash_bus_relay_and_kafka_projector_lose_and_duplicate_nothing(pg_factory, server_factory, workdir,
                                                                          figures):
    pg = pg_factory(fsync=False, name="bus")
    kafka = AlmanacProcess(["dev-kafka", "--brokers", "1", "--topic", TOPIC, "--partitions", str(PARTITIONS)],
                           workdir, "dev-kafka")
    started: list[AlmanacProcess] = [kafka]
    problems: list[str] = []
    server = None
    load = None
    tail = None
    held = None
    try:
        kafka.start()
        brokers = kafka.wait_for_output("KAFKA_BROKERS=")
        server = server_factory(pg.url, name="bus-serve", extra_args=["--no-projector"])
        server.start()
        bus = ["--database-url", pg.url, "--kafka-brokers", brokers, "--kafka-topic", TOPIC, "--kafka-group", GROUP]
        relay = AlmanacProcess(["relay", "--bus", "kafka", *bus], workdir, "relay")
        projector = AlmanacProcess(
            ["project", "--source", "kafka", *bus, *(a for s in PROJECTOR_SETTINGS for a in ("--kafka-setting", s))],
            workdir, "project")
        started += [relay, projector]
        users = {name: server.create_user(name) for name in USERS}
        feeds = {name: feed_path(server.base, key) for name, key in users.items()}
        first = []   # one todo per user before the load, so that every user has a calendar
        for name, key in users.items():
            r = requests.post(server.base + "/api/v1/todos", json={"title": f"first of {name}"},
                              headers=auth(key), timeout=15)
            assert r.status_code == 201, f"first todo of {name}: {r.status_code} {r.text[:200]}"
            first.append(TodoModel(user=name, id=r.json()["id"], create=(f"first of {name}", "", None, False),
                                   create_acked=True))
        relay.start()
        projector.start()
        t0 = time.monotonic()
        left = wait_caught_up(server.base, users, submit_projection_jobs(server.base, users), START_BOUND)
        assert not left, (f"the first writes did not reach the feeds within {START_BOUND:.0f} s of starting "
                          f"relay and projector: jobs {left}\nrelay: {relay.log_tail()}\nproject: {projector.log_tail()}")
        figures["start of relay and projector to first writes in the feeds (s)"] = round(time.monotonic() - t0, 2)

        tail = TopicTail(brokers)
        held_kills = 0
        load = WriteLoad(server.base, users, threads=8, seed=90, timeout=10.0, stop_on_failure=False,
                         feed_paths=feeds)
        load.start()
        rng = random.Random(90)
        caught_up: dict[str, list[float]] = {"relay": [], "projector": [], "both": []}
        # Relay and projector alternately, then both at once (the last round).
        schedule = [("relay", [relay]), ("projector", [projector])] * ROUNDS + [("both", [relay, projector])]
        for i, (what, procs) in enumerate(schedule):
            round_no = min(i // 2 + 1, ROUNDS)
            label = f"round {round_no} {what}" if what != "both" else "relay and projector together"
            names = " and ".join(f"`almanac {p.args[0]}`" for p in procs)
            # Window: a random (seeded) stretch of load before each kill, so it lands at a different point.
            time.sleep(rng.uniform(0.5, 1.5) if MODE.name == "quick" else rng.uniform(2.0, 6.0))
            dead = [p for p in procs if not p.alive()]
            if dead:
                for p in dead:
                    problems.append(f"{label}: `almanac {p.args[0]}` had exited by itself (code "
                                    f"{p.proc.returncode}) before the kill:\n{p.log_tail()}")
                    p.start()
                continue
            held = None
            if what == "relay":
                # Odd rounds: right after a batch reached the broker (its checkpoint maybe not saved
                # yet). Even rounds: with the checkpoint table locked, once a batch reached the broker
                # (the relay then waits to save its checkpoint): a republication is certain.
                if round_no % 2 == 0:
                    # Skip first, then lock: the relay publishes one batch as soon as the lock is
                    # taken and then waits; skipped after the lock, that batch could be dropped
                    # with what came before, and nothing else comes (the flaky "nothing reached
                    # the topic" of round 2, with the relay found waiting on its save).
                    tail.skip_received()
                    held = HeldCheckpoint(pg)
                    held_kills += 1
                    arrived = tail.wait_for_message(10.0)
                else:
                    arrived = tail.next_message(10.0)
                if not arrived:
                    problems.append(f"{label}: nothing reached the topic for 10 s before the kill, "
                                    f"with 8 clients writing")
                if held is not None and not held.wait_for_waiter(10.0):
                    problems.append(f"{label}: with its checkpoint locked, the relay published a batch but "
                                    f"did not come to save its checkpoint within 10 s")
            for p in procs:
                code = p.kill()                    # kill -9 of its process group, mid-stream
                if code != -9:
                    problems.append(f"{label}: kill -9 did not end `almanac {p.args[0]}` (wait returned {code})")
            killed_at = time.monotonic()
            if held is not None:
                released, held = held.release(), None
                if released < 1:
                    problems.append(f"{label}: no checkpoint save of the killed relay was waiting for the lock")
            # Window: the outage being exercised; the killed processes stay down DOWN_SECONDS under load.
            time.sleep(DOWN_SECONDS)
            paths = submit_projection_jobs(server.base, users)
            behind = pending_jobs(server.base, users, paths)
            for p in procs:
                p.start()
            restarted_at = time.monotonic()
            left = wait_caught_up(server.base, users, paths, CATCH_UP_BOUND)
            done_at = time.monotonic()
            acked_down = sum(1 for a in list(load.answers)
                             if killed_at <= a.started <= restarted_at and a.kind in WRITE_KINDS
                             and a.status.startswith("2"))
            if left:
                figures[label] = (f"NOT caught up {CATCH_UP_BOUND:.0f} s after the restart: jobs {left}; "
                                  f"users behind at restart {len(behind)}/{len(users)}; "
                                  f"writes acknowledged while down {acked_down}")
                problems.append(
                    f"{label}: the writes made while {names} was down did not reach the feeds within "
                    f"{CATCH_UP_BOUND:.0f} s of the restart (projection jobs still {left})\n"
                    + "\n".join(f"{p.name} log:\n{p.log_tail()}" for p in procs))
                continue
            caught_up[what].append(round(done_at - killed_at, 2))
            figures[label] = (f"kill -9 to caught up {done_at - killed_at:.2f} s (restart to caught up "
                              f"{done_at - restarted_at:.2f} s); users behind at restart {len(behind)}/{len(users)}; "
                              f"writes acknowledged while down {acked_down}")
            if not behind:
                problems.append(
                    f"{label}: {DOWN_SECONDS} s after kill -9 of {names} every feed had already reached the "
                    f"latest writes ({acked_down} acknowledged meanwhile): the kill did not stop the pipeline")

        tail.close()
        tail = None
        hung = load.stop(join_timeout=15)
        if hung:
            problems.append(f"load threads hung: {hung}")
        if load.anomalies:
            problems.append(f"unexpected answers under load: {load.anomalies[:5]}")
        statuses = load.status_counts()
        bad = {s: n for s, n in statuses.items() if not s.startswith("2") and s != "304"}
        if bad:
            # The API was never killed: every request must have been answered.
            problems.append(f"answers other than 2xx/304 while relay/projector were killed: {bad}")
        figures["answers by status"] = dict(sorted(statuses.items()))
        figures["kill -9 of the relay to caught up (s)"] = caught_up["relay"]
        figures["kill -9 of the projector to caught up (s)"] = caught_up["projector"]
        figures["kill -9 of both to caught up (s)"] = caught_up["both"]

        # Everything written reaches the feeds, then the checks of test_crash.
        left = wait_caught_up(server.base, users, submit_projection_jobs(server.base, users), CATCH_UP_BOUND)
        if left:
            problems.append(f"after the load: projection not caught up within {CATCH_UP_BOUND:.0f} s: {left}")
        # The relay's contract, read on the topic itself: every event published at least once.
        heads = {}
        for name, key in users.items():
            me = requests.get(server.base + "/api/v1/me", headers=auth(key), timeout=15).json()
            job = requests.post(server.base + "/api/v1/todos/ical", headers=auth(key), timeout=15).json()
            heads[me["id"]] = requests.get(server.base + urlsplit(job["task_url"]).path, headers=auth(key),
                                           timeout=15).json()["target_version"]
        topic_problems, topic_figures = check_topic(read_topic(brokers), heads)
        figures["topic"] = topic_figures
        figures["relay kills with its checkpoint locked"] = held_kills
        if held_kills and not topic_figures["events published more than once"]:
            problems.append(f"the relay was killed {held_kills} time(s) after publishing a batch whose checkpoint "
                            f"it could not save yet, and still no event is on the topic twice: the restarted "
                            f"relay did not publish again from its saved checkpoint")
        problems += topic_problems
        report = verify_durability(server.base, users, first + load.models)
        figures["write requests acknowledged (2xx)"] = load.acked_requests()
        figures["acknowledged write effects (per todo)"] = report.writes_acknowledged
        figures["acknowledged write effects found"] = report.writes_found
        figures["writes"] = report.summary()
        problems += report.problems()
        converge, feed_figures = feeds_converge(server.base, users, bound=MODE.job_bound, feed_bound=10)
        figures.update(feed_figures)
        problems += converge
        vtodo = {}
        for name, key in users.items():
            listed = list_todos(server.base, key)
            uids = vtodo_uids(server.base, feeds[name])
            dupes = len(uids) - len(set(uids))
            vtodo[name] = f"{len(listed)} todos, {len(uids)} VTODO, {dupes} duplicate UIDs"
            if dupes or len(uids) != len(listed):
                problems.append(f"user {name}: the ?format=vtodo feed has {len(uids)} VTODO ({dupes} duplicate "
                                f"UIDs) for {len(listed)} todos in the list")
        figures["vtodo feeds"] = vtodo
        for proc in (relay, projector):
            if not proc.alive():
                problems.append(f"`almanac {proc.args[0]}` exited by itself (code {proc.proc.returncode}):\n"
                                f"{proc.log_tail()}")
        assert report.writes_acknowledged > 0, "no write was acknowledged at all: the load did not run"
    finally:
        if held is not None:
            held.release()
        if tail is not None:
            tail.close()
        if load is not None:
            load.stop(join_timeout=15)
        for proc in reversed(started):
            proc.stop()
    fail_if(problems, server)
