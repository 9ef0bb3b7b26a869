"""Black-box harness of the campaign: a private PostgreSQL cluster, the real `almanac` binary,
HTTP helpers, a concurrent write load that records every acknowledged write, and the checks
that every acknowledged write survived and that every feed equals a full regeneration.

Nothing here imports the project's code: the binary is the system under test.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_BIN_CANDIDATES = ["/usr/lib/postgresql/15/bin"] + sorted(
    (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True
)


def almanac_bin() -> Path:
    """The binary under test: $ALMANAC_BIN, default .build/debug/almanac under the repo root."""
    raw = os.environ.get("ALMANAC_BIN", ".build/debug/almanac")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    """A loopback port nobody listens on now, outside the kernel's ephemeral range: the caller
    binds it later, and a port from that range (what binding port 0 gives) can meanwhile become
    the source port of an outgoing connection (as in the Swift tests' freePort)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    candidates = free_port_candidates(low, high)
    if candidates is None:
        # No room either side of the range (e.g. "1024 65535"): the kernel chooses, racy but it runs.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for _ in range(100):
        port = random.randint(*candidates)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {candidates} after 100 tries")


def free_port_candidates(low: int, high: int):
    """The ports free_port draws from around the ephemeral range low..high: 20000 up to its start
    when there are 1,000 below it, else above its end; None when there is room on neither side
    (as the Swift tests' freePortCandidates)."""
    if low > 21000:
        return (20000, low - 1)
    if high < 65535:
        return (high + 1, 65535)
    return None


def pg_bindir() -> Path:
    for d in PG_BIN_CANDIDATES:
        if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
            return Path(d)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL (initdb, pg_ctl) not found; install postgresql")


def _as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` OS user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def poll(what: str, condition, bound: float, interval: float = 0.2):
    """Polls `condition()` until it returns a truthy value, at most `bound` seconds."""
    deadline = time.monotonic() + bound
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what}: not within {bound} s (last: {last!r})", pytrace=False)


# Processes started by this run, so that a run interrupted anyhow can still end them
# (scripts/campaign reads this file at exit).
_REGISTRY_LOCK = threading.Lock()


def _register(kind: str, value: str) -> None:
    run_dir = os.environ.get("CAMPAIGN_RUN_DIR")
    if not run_dir:
        return
    with _REGISTRY_LOCK, open(Path(run_dir, "started"), "a") as f:
        f.write(f"{kind} {value}\n")


class PgCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port>, trust authentication."""

    def __init__(self, fsync: bool, name: str = "pg"):
        self.bindir = pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix=f"campaign-{name}-"))
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.fsync = fsync
        self._initdb()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _run(self, args: list[str], timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            _as_pg_user(args), capture_output=True, text=True, timeout=timeout, cwd=self.dir
        )

    def _initdb(self) -> None:
        r = self._run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"]
        )
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr}")
        durable = "on" if self.fsync else "off"
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                "unix_socket_directories = ''\nmax_connections = 300\n"
                f"fsync = {durable}\nsynchronous_commit = {durable}\nfull_page_writes = {durable}\n"
            )

    def start(self) -> None:
        r = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                       "-w", "-t", "60", "start"])
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr}\n{tail(self.log)}")
        _register("pgdata", str(self.data))

    def stop(self, mode: str = "fast") -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self, mode: str = "fast") -> subprocess.CompletedProcess:
        return self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                          "-m", mode, "-w", "-t", "60", "restart"])

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class AlmanacServer:
    """`almanac serve` on 127.0.0.1:<free port> against a given database, in its own process group."""

    def __init__(self, database_url: str, workdir: Path, auth: str = "api-key",
                 admin_token: str | None = None, extra_args: Iterable[str] = (),
                 env: dict[str, str] | None = None, port: int | None = None, name: str = "serve"):
        self.binary = almanac_bin()
        self.database_url = database_url
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.admin_token = admin_token if admin_token is not None else "adm_" + secrets.token_hex(16)
        self.extra_args = list(extra_args)
        self.extra_env = env or {}
        self.port = port or free_port()
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log = self.workdir / f"{name}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(self.binary), "serve", "--database-url", self.database_url,
                "--port", str(self.port), "--hostname", "127.0.0.1", "--auth", self.auth,
                # Below the campaign's 10 s client timeout: an outage must be a 503, not a hang.
                "--request-timeout", "5",
                *self.extra_args]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("ALMANAC_") and k not in ("DATABASE_URL", "KAFKA_BROKERS")}
        env["ALMANAC_ADMIN_TOKEN"] = self.admin_token
        env.setdefault("LOG_LEVEL", "info")
        env.update(self.extra_env)
        return env

    def start(self, wait: float = 60.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.starts += 1
        logf = open(self.log, "ab")
        logf.write(f"\n===== start #{self.starts} at {time.time():.3f} =====\n".encode())
        logf.flush()
        self.proc = subprocess.Popen(
            self.command(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.workdir, env=self.environment(), start_new_session=True,
        )
        logf.close()
        _register("pgid", str(self.proc.pid))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"almanac serve exited with {self.proc.returncode} during start:\n{tail(self.log)}")
            try:
                r = requests.get(self.base + "/api/v1/health", timeout=2)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"almanac serve did not answer /api/v1/health within {wait} s:\n{tail(self.log)}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """kill -9 of the whole process group, then reap."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
            _register("reaped", str(self.proc.pid))
        except subprocess.TimeoutExpired:
            pass

    def terminate(self, bound: float = 10.0) -> tuple[float, int | None]:
        """SIGTERM; returns (seconds until exit, exit code or None if it had to be killed)."""
        if not self.alive():
            return 0.0, self.proc.returncode if self.proc else None
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=bound)
            elapsed = time.monotonic() - started
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # anything the server left in its group
            except ProcessLookupError:
                pass
            _register("reaped", str(self.proc.pid))
            return elapsed, code
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            self.kill()
            return elapsed, None

    def stop(self) -> None:
        """Best-effort cleanup: SIGTERM, then SIGKILL after 5 s."""
        if self.alive():
            self.terminate(bound=5.0)
        self.kill()

    # --- users -------------------------------------------------------------------------

    def create_user(self, name: str) -> str:
        r = requests.post(self.base + "/api/v1/users", json={"name": name},
                          headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=15)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/v1/users {name!r}: {r.status_code} {r.text[:300]}")
        return r.json()["api_key"]

    def log_tail(self, lines: int = 12, width: int = 320) -> str:
        """The last warning/error lines of the server log (each cut to `width` characters)."""
        picked = [l for l in self.log_text().splitlines()
                  if " error " in l or " critical " in l or " warning " in l or "Fatal" in l or "fatal" in l]
        if not picked:
            return "(no warnings or errors in the server log)"
        return "\n".join(l[:width] + ("…" if len(l) > width else "") for l in picked[-lines:])

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


class AlmanacProcess:
    """Any other `almanac` command (`dev-kafka`, `relay`, `project`) in its own process group,
    its output appended to `<workdir>/<name>.log` (one log across restarts)."""

    def __init__(self, args: list[str], workdir: Path, name: str, env: dict[str, str] | None = None):
        self.binary = almanac_bin()
        self.args = list(args)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log = self.workdir / f"{name}.log"
        self._log_offset = 0

    def start(self) -> None:
        assert not self.alive(), f"{self.name} already running"
        self.starts += 1
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("ALMANAC_") and k not in ("DATABASE_URL", "KAFKA_BROKERS")}
        env.setdefault("LOG_LEVEL", "info")
        env.update(self.extra_env)
        with open(self.log, "ab") as logf:
            logf.write(f"\n===== start #{self.starts} at {time.time():.3f} =====\n".encode())
            logf.flush()
            self._log_offset = logf.tell()
            self.proc = subprocess.Popen(
                [str(self.binary), *self.args], stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.workdir, env=env, start_new_session=True)
        _register("pgid", str(self.proc.pid))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for_output(self, prefix: str, bound: float = 30.0) -> str:
        """The rest of the first line of this start's output beginning with `prefix`."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            with open(self.log, "rb") as f:
                f.seek(self._log_offset)
                for line in f.read().decode(errors="replace").splitlines():
                    if line.startswith(prefix):
                        return line[len(prefix):].strip()
            if not self.alive():
                raise RuntimeError(f"almanac {self.args[0]} exited with {self.proc.returncode} before "
                                   f"printing {prefix!r}:\n{tail(self.log)}")
            time.sleep(0.05)
        raise RuntimeError(f"almanac {self.args[0]} printed no {prefix!r} within {bound} s:\n{tail(self.log)}")

    def kill(self) -> int | None:
        """kill -9 of the whole process group, then reap; returns the exit code (-9) or None."""
        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            code = self.proc.wait(timeout=10)
            _register("reaped", str(self.proc.pid))
            return code
        except subprocess.TimeoutExpired:
            return None

    def stop(self, bound: float = 5.0) -> None:
        """Best-effort cleanup: SIGTERM, then SIGKILL of the group after `bound` seconds."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=bound)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 8, width: int = 320) -> str:
        picked = [l for l in self.log_text().splitlines()
                  if " error " in l or " critical " in l or " warning " in l or "Fatal" in l or "fatal" in l]
        if not picked:
            return f"(no warnings or errors in the {self.name} log)"
        return "\n".join(l[:width] + ("…" if len(l) > width else "") for l in picked[-lines:])


def fail_if(problems: list[str], server: "AlmanacServer | None" = None) -> None:
    """Fails the test with every problem on its own line (and the server's last errors)."""
    if problems:
        import pytest
        text = "\n".join(f"- {p}" for p in problems)
        if server is not None:
            text += f"\nserver log (last warnings/errors):\n{server.log_tail()}"
        pytest.fail(text, pytrace=False)


def cli_create_user(database_url: str, name: str, workdir: Path) -> str:
    """`almanac users create NAME --database-url URL`: returns the printed API key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALMANAC_") and k != "DATABASE_URL"}
    r = subprocess.run([str(almanac_bin()), "users", "create", name, "--database-url", database_url],
                       capture_output=True, text=True, timeout=60, cwd=workdir, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"almanac users create {name}: exit {r.returncode}: {r.stderr}{r.stdout}")
    for word in (r.stdout + r.stderr).split():
        if word.startswith("alm_"):
            return word
    raise RuntimeError(f"no API key in the output of `almanac users create`: {r.stdout!r}")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- the write load ---------------------------------------------------------------------

FIELDS = ("title", "description", "deadline_at", "completed")
DEADLINES = [None, "2031-05-17", "2031-05-17T09:30:00", "2031-05-17 18:45:10.25",
             "2031-12-31T23:59:59Z", "2032-02-29T07:00:00+05:30", "2031-06-01T00:00:00"]


def apply_op(state: tuple | None, op: tuple) -> tuple:
    """State = (title, description, deadline_at, completed). op: ('set', fields) | ('complete',)."""
    if op[0] == "set":
        return op[1]
    assert state is not None
    return (state[0], state[1], state[2], True)


@dataclass
class TodoModel:
    user: str
    id: int | None                       # None while the create was not acknowledged
    create: tuple                        # the state sent by the create
    create_acked: bool
    ops: list = field(default_factory=list)  # (op, acked: bool) after the create

    def possible_states(self) -> set[tuple]:
        states = {self.create}
        for op, acked in self.ops:
            applied = {apply_op(s, op) for s in states}
            states = applied if acked else states | applied
        return states


@dataclass
class Answer:
    kind: str         # create / update / complete / read-todo / read-feed / read-list
    status: str       # "201", "503", "timeout", "conn-error", ...
    started: float    # monotonic
    elapsed: float
    retry_after: str | None = None
    detail: str = ""


class WriteLoad:
    """N threads of create / PUT / bulk-complete (plus a few reads) on a few users' todos.

    Each thread only touches the todos it created, one request at a time, so the last
    acknowledged write of a todo defines its state; a write that got no 2xx (5xx, timeout,
    connection error) may or may not have been applied and is recorded as such.
    """

    def __init__(self, base: str, users: dict[str, str], threads: int = 8, seed: int = 0,
                 timeout: float = 10.0, stop_on_failure: bool = False, reads: bool = True,
                 feed_paths: dict[str, str] | None = None, pause_on_failure: float = 0.05):
        self.base = base
        self.users = users
        self.threads = threads
        self.seed = seed
        self.timeout = timeout
        self.stop_on_failure = stop_on_failure
        self.reads = reads
        self.feed_paths = feed_paths or {}
        self.pause_on_failure = pause_on_failure
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.models: list[TodoModel] = []
        self.answers: list[Answer] = []
        self.anomalies: list[str] = []
        self._threads: list[threading.Thread] = []

    # accounting -------------------------------------------------------------------------
    def _record(self, a: Answer) -> None:
        with self.lock:
            self.answers.append(a)

    def _anomaly(self, text: str) -> None:
        with self.lock:
            if len(self.anomalies) < 200:
                self.anomalies.append(text)

    def acked_writes(self) -> Counter:
        c = Counter()
        with self.lock:
            for m in self.models:
                if m.create_acked:
                    c["create"] += 1
                for op, acked in m.ops:
                    if acked:
                        c["update" if op[0] == "set" else "complete"] += 1
        return c

    def acked_requests(self) -> int:
        """Write requests answered 2xx (a bulk completion counts once)."""
        with self.lock:
            return sum(1 for a in self.answers
                       if a.kind in ("create", "update", "complete") and a.status.startswith("2"))

    def status_counts(self, since: float | None = None, until: float | None = None,
                      kinds: Iterable[str] | None = None) -> Counter:
        kinds = set(kinds) if kinds else None
        with self.lock:
            return Counter(a.status for a in self.answers
                           if (since is None or a.started >= since) and (until is None or a.started <= until)
                           and (kinds is None or a.kind in kinds))

    # running ----------------------------------------------------------------------------
    def start(self) -> None:
        names = list(self.users)
        for i in range(self.threads):
            user = names[i % len(names)]
            t = threading.Thread(target=self._worker, args=(i, user), daemon=True, name=f"load-{i}")
            self._threads.append(t)
            t.start()

    def stop(self, join_timeout: float | None = None) -> list[str]:
        """Stops the workers; returns the names of those that did not end in time (hung)."""
        self.stop_event.set()
        bound = join_timeout if join_timeout is not None else self.timeout + 5
        deadline = time.monotonic() + bound
        hung = []
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                hung.append(t.name)
        return hung

    def _send(self, session: requests.Session, kind: str, method: str, path: str, key: str,
              body: Any = None) -> tuple[requests.Response | None, Answer]:
        started = time.monotonic()
        try:
            r = session.request(method, self.base + path, json=body, headers=auth(key),
                                timeout=(5, self.timeout))
            a = Answer(kind, str(r.status_code), started, time.monotonic() - started,
                       r.headers.get("Retry-After"),
                       r.text[:200] if r.status_code >= 400 else "")
            self._record(a)
            return r, a
        except requests.Timeout as e:
            a = Answer(kind, "timeout", started, time.monotonic() - started, None, type(e).__name__)
        except requests.ConnectionError as e:
            a = Answer(kind, "conn-error", started, time.monotonic() - started, None, str(e)[:200])
        self._record(a)
        return None, a

    def _worker(self, index: int, user: str) -> None:
        rng = random.Random(self.seed * 1000 + index)
        key = self.users[user]
        session = requests.Session()
        mine: list[TodoModel] = []
        n = 0
        while not self.stop_event.is_set():
            n += 1
            known = [m for m in mine if m.id is not None]
            roll = rng.random()
            if self.reads and known and roll < 0.08:
                m = rng.choice(known)
                self._send(session, "read-todo", "GET", f"/api/v1/todos/{m.id}", key)
                continue
            if self.reads and roll < 0.12 and user in self.feed_paths:
                self._send(session, "read-feed", "GET", self.feed_paths[user], key)
                continue
            ok = True
            if not known or roll < 0.45:
                ok = self._create(session, rng, index, n, user, key, mine)
            elif roll < 0.8:
                ok = self._update(session, rng, index, n, key, rng.choice(known))
            else:
                ok = self._complete(session, rng, key, known)
            if not ok:
                if self.stop_on_failure:
                    return
                # Pacing: a failed request is followed by a pause, as a client would back off.
                time.sleep(self.pause_on_failure)

    def _state(self, rng: random.Random, tag: str) -> tuple:
        title = f"{tag} {rng.choice(['Buy milk', 'Call Ana', 'Écrire', '写报告', 'Fix #42, then test'])}"
        description = rng.choice(["", "line one\nline two", "comma, semicolon; backslash \\",
                                  "emoji 🎉 and ünïcödé", "x" * rng.randint(1, 400)])
        return (title, description, rng.choice(DEADLINES), rng.random() < 0.2)

    def _create(self, session, rng, index, n, user, key, mine) -> bool:
        state = self._state(rng, f"c{index}-{n}")
        body = dict(zip(FIELDS, state))
        r, a = self._send(session, "create", "POST", "/api/v1/todos", key, body)
        model = TodoModel(user=user, id=None, create=state, create_acked=False)
        if r is not None and r.status_code == 201:
            got = r.json()
            model.id = got["id"]
            model.create_acked = True
            echoed = tuple(got.get(f) for f in FIELDS)
            if echoed != state:
                self._anomaly(f"create echoed {echoed!r}, sent {state!r}")
        elif r is not None and r.status_code < 500 and r.status_code != 408:
            # A definite rejection: nothing was written. 409 (concurrent change, retried by the
            # server, then refused) is documented; anything else is unexpected.
            if r.status_code != 409:
                self._anomaly(f"create rejected: {r.status_code} {r.text[:200]}")
            return False
        with self.lock:
            mine.append(model)
            self.models.append(model)
        return model.create_acked

    def _update(self, session, rng, index, n, key, model: TodoModel) -> bool:
        state = self._state(rng, f"u{index}-{n}")
        r, a = self._send(session, "update", "PUT", f"/api/v1/todos/{model.id}", key, dict(zip(FIELDS, state)))
        acked = r is not None and r.status_code == 200
        if r is not None and not acked and r.status_code < 500:
            if r.status_code != 409:
                self._anomaly(f"PUT /api/v1/todos/{model.id} rejected: {r.status_code} {r.text[:200]}")
            return False
        if acked:
            echoed = tuple(r.json().get(f) for f in FIELDS)
            if echoed != state:
                self._anomaly(f"PUT echoed {echoed!r}, sent {state!r}")
        with self.lock:
            model.ops.append((("set", state), acked))
        return acked

    def _complete(self, session, rng, key, known: list[TodoModel]) -> bool:
        chosen = rng.sample(known, min(len(known), rng.randint(1, 6)))
        ids = [m.id for m in chosen] + [10_000_000 + rng.randint(0, 1000)]
        r, a = self._send(session, "complete", "POST", "/api/v1/todos/complete", key, {"ids": ids})
        acked = r is not None and r.status_code == 200
        if r is not None and not acked and r.status_code < 500:
            if r.status_code != 409:
                self._anomaly(f"complete {ids} rejected: {r.status_code} {r.text[:200]}")
            return False
        if acked:
            got = r.json()
            done = set(got.get("completed", [])) | set(got.get("already_completed", []))
            if done != {m.id for m in chosen} or got.get("not_found") != [ids[-1]]:
                self._anomaly(f"complete {ids} answered {got}")
        with self.lock:
            for m in chosen:
                m.ops.append((("complete",), acked))
        return acked


# --- verification -----------------------------------------------------------------------

@dataclass
class Durability:
    acknowledged: Counter
    todos_acknowledged: int
    todos_ok: int
    missing: list[str]
    wrong: list[str]
    phantoms: list[str]
    get_mismatch: list[str]
    errors: list[str]
    lost_writes: int = 0

    @property
    def writes_acknowledged(self) -> int:
        return sum(self.acknowledged.values())

    @property
    def writes_found(self) -> int:
        # A missing todo loses its create and every acknowledged write after it; a todo in a
        # state no acknowledged history allows loses at least one write (counted as one).
        return self.writes_acknowledged - self.lost_writes

    def problems(self) -> list[str]:
        out = []
        if self.errors:
            out.append(f"{len(self.errors)} verification requests failed: {self.errors[:5]}")
        if self.missing:
            out.append(f"{len(self.missing)} acknowledged todos are missing: {self.missing[:8]}")
        if self.wrong:
            out.append(f"{len(self.wrong)} todos are in a state no acknowledged history allows "
                       f"(lost update): {self.wrong[:5]}")
        if self.phantoms:
            out.append(f"{len(self.phantoms)} todos nobody created: {self.phantoms[:5]}")
        if self.get_mismatch:
            out.append(f"GET /api/v1/todos/{{id}} disagrees with the list: {self.get_mismatch[:5]}")
        return out

    def summary(self) -> str:
        a = self.acknowledged
        return (f"acknowledged write effects {self.writes_acknowledged} (creates {a['create']}, updates "
                f"{a['update']}, completions {a['complete']}), found {self.writes_found}; todos "
                f"acknowledged {self.todos_acknowledged}, in an acknowledged state {self.todos_ok}, "
                f"missing {len(self.missing)}, wrong {len(self.wrong)}, phantom {len(self.phantoms)}")


def list_todos(base: str, key: str, timeout: float = 30) -> list[dict]:
    r = requests.get(base + "/api/v1/todos", headers=auth(key), timeout=timeout)
    r.raise_for_status()
    return r.json()


def verify_durability(base: str, users: dict[str, str], models: list[TodoModel],
                      check_each: bool = True) -> Durability:
    acknowledged = Counter()
    for m in models:
        if m.create_acked:
            acknowledged["create"] += 1
        for op, acked in m.ops:
            if acked:
                acknowledged["update" if op[0] == "set" else "complete"] += 1
    missing, wrong, phantoms, get_mismatch, errors = [], [], [], [], []
    todos_ok = 0
    lost_writes = 0
    by_user: dict[str, dict[int, dict]] = {}
    for name, key in users.items():
        try:
            by_user[name] = {t["id"]: t for t in list_todos(base, key)}
        except Exception as e:  # noqa: BLE001
            errors.append(f"GET /api/v1/todos as {name}: {e}")
            by_user[name] = {}
    session = requests.Session()
    claimed: dict[str, set[int]] = {n: set() for n in users}
    for m in models:
        if not m.create_acked:
            continue
        got = by_user[m.user].get(m.id)
        writes = 1 + sum(1 for _, acked in m.ops if acked)
        if got is None:
            missing.append(f"{m.user}/todo {m.id} ({writes} acknowledged writes, created as {m.create[0]!r})")
            lost_writes += writes
            continue
        claimed[m.user].add(m.id)
        state = tuple(got.get(f) for f in FIELDS)
        allowed = m.possible_states()
        if state in allowed:
            todos_ok += 1
        else:
            lost_writes += 1
            wrong.append(f"{m.user}/todo {m.id}: found {state!r}, allowed {sorted(map(repr, allowed))[:3]}")
        if check_each:
            try:
                r = session.get(f"{base}/api/v1/todos/{m.id}", headers=auth(users[m.user]), timeout=15)
                if r.status_code != 200 or r.json() != got:
                    get_mismatch.append(f"{m.user}/todo {m.id}: {r.status_code} {r.text[:120]}")
            except Exception as e:  # noqa: BLE001
                errors.append(f"GET /api/v1/todos/{m.id}: {e}")
    # Todos that exist but were never acknowledged must come from a create that got no answer.
    unanswered = {}
    for m in models:
        if not m.create_acked:
            unanswered.setdefault(m.user, []).append(m)
    for name, todos in by_user.items():
        for tid, t in todos.items():
            if tid in claimed[name]:
                continue
            state = tuple(t.get(f) for f in FIELDS)
            if not any(state in m.possible_states() for m in unanswered.get(name, [])):
                phantoms.append(f"{name}/todo {tid}: {state!r}")
    return Durability(acknowledged, sum(1 for m in models if m.create_acked), todos_ok,
                      missing, wrong, phantoms, get_mismatch, errors, lost_writes)


# --- feeds and full regeneration ----------------------------------------------------------

@dataclass
class FullJob:
    user: str
    status: str
    matches: bool | None
    duration_ms: float | None
    result: bytes | None
    detail: str


def full_jobs(base: str, users: dict[str, str], bound: float = 30.0) -> dict[str, FullJob]:
    """POST /api/v1/todos/ical?mode=full for every user at once, then poll their status until
    SUCCESS/FAILURE, all within one bound."""
    jobs: dict[str, FullJob] = {}
    pending: dict[str, str] = {}
    for name, key in users.items():
        try:
            r = requests.post(base + "/api/v1/todos/ical?mode=full", headers=auth(key), timeout=15)
        except requests.RequestException as e:
            jobs[name] = FullJob(name, "submit-error", None, None, None, str(e)[:200])
            continue
        if r.status_code != 202:
            jobs[name] = FullJob(name, f"submit-{r.status_code}", None, None, None, r.text[:300])
            continue
        pending[name] = urlsplit(r.json()["task_url"]).path
    deadline = time.monotonic() + bound
    last: dict[str, dict] = {}
    while pending and time.monotonic() < deadline:
        for name, status_url in list(pending.items()):
            key = users[name]
            try:
                s = requests.get(base + status_url, headers=auth(key), timeout=15)
            except requests.RequestException as e:
                jobs[name] = FullJob(name, "status-error", None, None, None, str(e)[:200])
                del pending[name]
                continue
            if s.status_code != 200:
                jobs[name] = FullJob(name, f"status-{s.status_code}", None, None, None, s.text[:300])
                del pending[name]
                continue
            body = last[name] = s.json()
            if body.get("task_status") in ("SUCCESS", "FAILURE"):
                del pending[name]
                result = None
                if body["task_status"] == "SUCCESS":
                    res = requests.get(base + urlsplit(body["result_url"]).path, headers=auth(key), timeout=30)
                    result = res.content if res.status_code == 200 else None
                jobs[name] = FullJob(name, body["task_status"], body.get("matches_incremental"),
                                     body.get("duration_ms"), result, json.dumps(body)[:300])
        time.sleep(0.2)
    for name in pending:
        jobs[name] = FullJob(name, "NOT FINISHED", None, None, None,
                             f"status after {bound:.0f} s: {json.dumps(last.get(name))[:300]}")
    return jobs


def feed_path(base: str, key: str) -> str:
    r = requests.get(base + "/api/v1/feed", headers=auth(key), timeout=15)
    r.raise_for_status()
    return urlsplit(r.json()["https"]).path


def feeds_converge(base: str, users: dict[str, str], bound: float = 30.0,
                   feed_bound: float = 10.0) -> tuple[list[str], dict[str, Any]]:
    """For each user: the full job succeeds with matches_incremental == true, and the feed
    served at /feeds/<token>.ics equals the full job's result within feed_bound seconds."""
    problems, figures = [], {}
    jobs = full_jobs(base, users, bound)
    for name, key in users.items():
        job = jobs[name]
        figures[f"full job {name}"] = (f"{job.status}, matches_incremental={job.matches}, "
                                       f"{job.duration_ms} ms")
        if job.status != "SUCCESS" or job.matches is not True:
            problems.append(f"user {name}: full job {job.status}, matches_incremental={job.matches}: {job.detail}")
            continue
        if job.result is None:
            problems.append(f"user {name}: full job result could not be fetched")
            continue
        path = feed_path(base, key)
        deadline = time.monotonic() + feed_bound
        while True:
            f = requests.get(base + path, timeout=30)
            if f.status_code == 200 and f.content == job.result:
                break
            if time.monotonic() >= deadline:
                problems.append(
                    f"user {name}: /feeds/<token>.ics ({f.status_code}, {len(f.content)} bytes) still differs "
                    f"from the full job's result ({len(job.result)} bytes) after {feed_bound} s")
                break
            time.sleep(0.2)
    return problems, figures


def feed_freshness(base: str, key: str, path: str, title: str, bound: float = 10.0) -> float | None:
    """Creates a todo with a deadline and returns the seconds until /feeds/<token>.ics shows it
    (None if not within bound): the projector is alive."""
    started = time.monotonic()
    r = requests.post(base + "/api/v1/todos", json={"title": title, "deadline_at": "2031-01-01T10:00:00Z"},
                      headers=auth(key), timeout=15)
    if r.status_code != 201:
        return None
    while time.monotonic() - started < bound:
        f = requests.get(base + path, timeout=15)
        if f.status_code == 200 and title.encode() in f.content:
            return time.monotonic() - started
        time.sleep(0.1)
    return None
