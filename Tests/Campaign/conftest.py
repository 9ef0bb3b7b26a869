"""Fixtures of the campaign: the mode (quick/long), the figures each test records, a private
PostgreSQL cluster and `almanac serve` processes, all cleaned up by finalizers."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import AlmanacServer, PgCluster, REPO_ROOT, almanac_bin  # noqa: E402


@dataclass(frozen=True)
class Mode:
    name: str
    fuzz_examples: int          # schemathesis --max-examples per operation
    fuzz_timeout: float         # bound of one schemathesis run, seconds
    rounds: int                 # crash / restart / SIGTERM rounds
    load_seconds: float         # load before the fault
    slow_todos: int             # todos of the user whose list and feed are read slowly
    slow_seconds: float         # how long slow clients are held while normal requests run
    idle_bound: float           # seconds an idle connection may stay open
    job_bound: float            # seconds for all full jobs of a check to finish


QUICK = Mode("quick", fuzz_examples=50, fuzz_timeout=150, rounds=1, load_seconds=3.0,
             slow_todos=1000, slow_seconds=8.0, idle_bound=30.0, job_bound=20.0)
LONG = Mode("long", fuzz_examples=500, fuzz_timeout=1500, rounds=3, load_seconds=8.0,
            slow_todos=1500, slow_seconds=30.0, idle_bound=120.0, job_bound=60.0)

MODE = LONG if os.environ.get("CAMPAIGN_MODE", "quick") == "long" else QUICK


def budget(quick: float, long: float) -> float:
    """A per-test time bound (pytest-timeout) for the current mode."""
    return long if MODE is LONG else quick


@pytest.fixture(scope="session")
def mode() -> Mode:
    return MODE


# --- figures --------------------------------------------------------------------------------

_FIGURES: dict[str, dict[str, object]] = {}


class Figures:
    def __init__(self, test: str):
        self.test = test
        _FIGURES.setdefault(test, {})

    def __setitem__(self, name: str, value: object) -> None:
        _FIGURES[self.test][name] = value
        print(f"[figure] {name}: {value}", flush=True)

    def update(self, values: dict) -> None:
        for k, v in values.items():
            self[k] = v


@pytest.fixture
def figures(request) -> Figures:
    return Figures(request.node.name)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _FIGURES:
        return
    tr = terminalreporter
    tr.section(f"campaign figures ({MODE.name})")
    for test, values in _FIGURES.items():
        if not values:
            continue
        tr.write_line(test)
        for k, v in values.items():
            tr.write_line(f"    {k}: {v}")
    out = Path(os.environ.get("CAMPAIGN_RESULTS", REPO_ROOT / ".almanac" / "campaign"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "figures.json").write_text(json.dumps(
            {"mode": MODE.name, "binary": str(almanac_bin()), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "tests": _FIGURES}, indent=2, default=str))
        tr.write_line(f"(also written to {out / 'figures.json'})")
    except OSError as e:
        tr.write_line(f"(figures.json not written: {e})")


# --- processes --------------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def binary_present():
    path = almanac_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.exit(f"the almanac binary {path} does not exist or is not executable: build it "
                    f"(swift build) or set ALMANAC_BIN", returncode=4)
    return path


@pytest.fixture
def workdir(request):
    d = Path(tempfile.mkdtemp(prefix="campaign-work-"))
    yield d
    if getattr(request.node, "rep_failed", False):
        keep = Path(os.environ.get("CAMPAIGN_RESULTS", REPO_ROOT / ".almanac" / "campaign")) / "logs" / request.node.name
        keep.mkdir(parents=True, exist_ok=True)
        for f in d.glob("*.log"):
            shutil.copy(f, keep / f.name)
    shutil.rmtree(d, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call" and rep.failed:
        item.rep_failed = True
    return rep


@pytest.fixture
def pg_factory():
    """pg_factory(fsync=...) -> a started PgCluster, destroyed at teardown."""
    clusters: list[PgCluster] = []

    def make(fsync: bool = False, name: str = "pg") -> PgCluster:
        c = PgCluster(fsync=fsync, name=name)
        clusters.append(c)
        c.start()
        return c

    yield make
    for c in clusters:
        c.destroy()


@pytest.fixture
def server_factory(workdir):
    """server_factory(database_url, ...) -> an AlmanacServer (not started); stopped at teardown."""
    servers: list[AlmanacServer] = []

    def make(database_url: str, **kwargs) -> AlmanacServer:
        kwargs.setdefault("name", f"serve{len(servers)}")
        s = AlmanacServer(database_url, workdir, **kwargs)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def pg(pg_factory) -> PgCluster:
    return pg_factory(fsync=False)


@pytest.fixture
def server(pg, server_factory) -> AlmanacServer:
    s = server_factory(pg.url)
    s.start()
    return s
