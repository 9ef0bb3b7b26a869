"""Metrics (issue #13): `almanac serve --metrics-port` exposes Prometheus series on a listener of
its own (never on the API port); the counters move with the requests made, the types are right,
no label carries a token, key or raw path; and the projector lag, sampled from the database,
rises while the projector is down and falls back to 0 once it runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import budget
from harness import _register, almanac_bin, auth, fail_if, feed_path, free_port, poll, tail

SAMPLE_INTERVAL = "1"  # seconds between database samples (lags, horizon, job queue)


# --- scraping ------------------------------------------------------------------------------

class Scrape:
    """One scrape of /metrics, parsed by prometheus_client."""

    def __init__(self, port: int):
        r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        r.raise_for_status()
        assert r.headers["Content-Type"].startswith("text/plain"), r.headers["Content-Type"]
        self.text = r.text
        self.families = {f.name: f for f in text_string_to_metric_families(r.text)}

    def family(self, name: str):
        """The family of a series as exposed (`x_total` is family `x` for the parser)."""
        if name in self.families:
            return self.families[name]
        if name.endswith("_total") and name[: -len("_total")] in self.families:
            return self.families[name[: -len("_total")]]
        return None

    def type(self, name: str) -> str | None:
        f = self.family(name)
        return f.type if f else None

    def value(self, sample: str, **labels: str) -> float:
        """Sum of the samples named `sample` whose labels include `labels` (0 when none)."""
        family_name = sample
        for suffix in ("_bucket", "_count", "_sum"):
            if sample.endswith(suffix) and self.family(sample[: -len(suffix)]) is not None:
                family_name = sample[: -len(suffix)]
        f = self.family(family_name)
        if f is None:
            return 0.0
        return sum(s.value for s in f.samples
                   if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))

    def labelsets(self, name: str) -> list[dict[str, str]]:
        f = self.family(name)
        return [s.labels for s in f.samples] if f else []


# --- a projector process -------------------------------------------------------------------

class Projector:
    """`almanac project --source store` with its own metrics port, in its own process group."""

    def __init__(self, database_url: str, workdir: Path, metrics_port: int):
        self.database_url = database_url
        self.workdir = workdir
        self.metrics_port = metrics_port
        self.log = workdir / "project.log"
        self.proc: subprocess.Popen | None = None

    def start(self, bound: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALMANAC_") and k != "DATABASE_URL"}
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [str(almanac_bin()), "project", "--source", "store", "--no-jobs",
                 "--database-url", self.database_url,
                 "--metrics-port", str(self.metrics_port), "--metrics-sample-interval", SAMPLE_INTERVAL],
                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir,
                env=env, start_new_session=True)
        _register("pgid", str(self.proc.pid))

        def up():
            if self.proc.poll() is not None:
                pytest.fail(f"almanac project exited with {self.proc.returncode}:\n{tail(self.log)}", pytrace=False)
            try:
                return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        poll("almanac project serves /metrics", up, bound)

    def kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        _register("reaped", str(self.proc.pid))


# --- tests ---------------------------------------------------------------------------------

def create_todos(base: str, key: str, count: int, prefix: str) -> None:
    for i in range(count):
        r = requests.post(base + "/api/v1/todos", json={"title": f"{prefix} {i}", "deadline_at": "2031-05-17"},
                          headers=auth(key), timeout=15)
        assert r.status_code == 201, (r.status_code, r.text[:300])


SERIES = {
    # name as exposed: (type, labels every sample must carry)
    "almanac_http_requests_total": ("counter", {"route", "method", "status"}),
    "almanac_http_request_duration_seconds": ("histogram", {"route", "method", "status"}),
    "almanac_events_appended_total": ("counter", set()),
    "almanac_projector_lag_events": ("gauge", {"projector"}),
    "almanac_projector_lag_seconds": ("gauge", {"projector"}),
    "almanac_log_reader_held_back_seconds": ("gauge", set()),
    "almanac_feed_cache_bytes": ("gauge", set()),
    "almanac_feed_cache_budget_bytes": ("gauge", set()),
    "almanac_feed_cache_entries": ("gauge", set()),
    "almanac_feed_cache_hits_total": ("counter", set()),
    "almanac_feed_cache_misses_total": ("counter", set()),
    "almanac_feed_cache_evictions_total": ("counter", set()),
    "almanac_feed_responses_total": ("counter", {"status", "encoding"}),
    "almanac_jobs_queued": ("gauge", {"mode", "status"}),
    "almanac_job_duration_seconds": ("histogram", {"mode", "outcome"}),
    "almanac_db_pool_connections_in_use": ("gauge", set()),
    "almanac_db_pool_waiters": ("gauge", set()),
    "almanac_db_pool_wait_seconds": ("histogram", set()),
}


@pytest.mark.timeout(budget(120, 240))
def test_series_exist_with_their_types_and_counts_move(pg, server_factory):
    metrics_port = free_port()
    server = server_factory(pg.url, name="metrics",
                            extra_args=["--metrics-port", str(metrics_port),
                                        "--metrics-sample-interval", SAMPLE_INTERVAL])
    server.start()
    key = server.create_user("mia")
    base = server.base
    problems: list[str] = []

    # Not on the API port, whatever the method.
    for method in ("GET", "HEAD"):
        r = requests.request(method, base + "/metrics", timeout=10)
        if r.status_code != 404:
            problems.append(f"{method} /metrics on the API port answered {r.status_code}, not 404")

    before = Scrape(metrics_port)
    create_todos(base, key, 3, "metrics")
    path = feed_path(base, key)
    token = path.rsplit("/", 1)[-1].removesuffix(".ics")

    # The projector runs in this process: wait until the feed holds all three todos (served
    # earlier, it changes once more and the conditional request below would rightly get a 200).
    first = poll("the feed is served with the three todos", lambda: (
        lambda r: r if r.status_code == 200 and all(f"SUMMARY:metrics {i}" in r.text for i in range(3)) else None)(
        requests.get(base + path, timeout=10)), 30)
    second = requests.get(base + path, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    if second.status_code != 304:
        problems.append(f"conditional feed request answered {second.status_code}, not 304")
    missing = requests.get(base + "/api/v1/todos/987654", headers=auth(key), timeout=10)
    assert missing.status_code == 404, missing.status_code
    unmatched = requests.get(base + f"/no/such/{token}", timeout=10)
    assert unmatched.status_code == 404, unmatched.status_code

    # A full job, so its duration is recorded.
    job = requests.post(base + "/api/v1/todos/ical?mode=full", headers=auth(key), timeout=15)
    assert job.status_code == 202, (job.status_code, job.text[:300])
    status_url = base + "/api/v1/todos/ical/" + job.json()["task_id"] + "/status"
    poll("the full job finishes", lambda: requests.get(status_url, headers=auth(key), timeout=10)
         .json()["task_status"] in ("SUCCESS", "FAILURE"), 30)

    # The job duration is recorded after the job's row is updated: poll for it, and for the
    # sampler to see the projector's checkpoint.
    after = poll("the job duration and the projector lag are exported", lambda: (
        lambda s: s if s.value("almanac_job_duration_seconds_count", mode="full") >= 1
        and s.labelsets("almanac_projector_lag_events") else None)(Scrape(metrics_port)), 20)

    for name, (kind, labels) in SERIES.items():
        got = after.type(name)
        if got != kind:
            problems.append(f"{name}: type {got}, expected {kind}")
            continue
        for labelset in after.labelsets(name):
            keys = set(labelset) - {"le"}
            if keys != labels:
                problems.append(f"{name}: labels {sorted(keys)}, expected {sorted(labels)}")
                break

    def moved(sample: str, expected: float, at_least: bool = False, **labels: str) -> None:
        delta = after.value(sample, **labels) - before.value(sample, **labels)
        if (delta < expected) if at_least else (delta != expected):
            problems.append(f"{sample}{labels or ''} moved by {delta}, expected {'≥ ' if at_least else ''}{expected}")

    moved("almanac_events_appended_total", 3)
    moved("almanac_http_requests_total", 3, route="/api/v1/todos", method="POST", status="201")
    moved("almanac_http_request_duration_seconds_count", 3, route="/api/v1/todos", method="POST", status="201")
    moved("almanac_http_requests_total", 1, route="/api/v1/todos/{id}", method="GET", status="404")
    moved("almanac_http_requests_total", 1, route="/feeds/{token}.ics", method="GET", status="304")
    moved("almanac_http_requests_total", 1, at_least=True, route="/feeds/{token}.ics", method="GET", status="200")
    moved("almanac_http_requests_total", 1, route="unmatched", method="GET", status="404")
    moved("almanac_feed_responses_total", 1, status="304")
    moved("almanac_feed_responses_total", 1, at_least=True, status="200")
    moved("almanac_feed_cache_misses_total", 1, at_least=True)
    moved("almanac_job_duration_seconds_count", 1, mode="full", outcome="success")
    if after.value("almanac_feed_cache_entries") < 1 or after.value("almanac_feed_cache_bytes") <= 0:
        problems.append("the feed cache gauges do not show the feed just served")
    if after.value("almanac_projector_lag_events", projector="calendar-projector") != 0:
        # The projector applied everything before the feed answered 200.
        problems.append("projector lag is not 0 with the projector caught up")

    # Bounded labels: no token, key or raw path anywhere in the exposition.
    for secret, what in ((token, "feed token"), (key, "API key"), ("987654", "todo id"), ("/no/such", "raw path")):
        if secret in after.text:
            problems.append(f"the {what} appears in /metrics")
    fail_if(problems, server)


@pytest.mark.timeout(budget(150, 300))
def test_projector_lag_rises_while_the_projector_is_down_and_falls_when_it_runs(pg, server_factory, workdir):
    api_metrics = free_port()
    server = server_factory(pg.url, name="api-only",
                            extra_args=["--no-projector", "--metrics-port", str(api_metrics),
                                        "--metrics-sample-interval", SAMPLE_INTERVAL])
    server.start()
    key = server.create_user("lag")
    projector = Projector(pg.url, workdir, free_port())
    try:
        projector.start()
        create_todos(server.base, key, 2, "warm")

        def lag() -> tuple[float, float] | None:
            s = Scrape(api_metrics)
            if not s.labelsets("almanac_projector_lag_events"):
                return None
            return (s.value("almanac_projector_lag_events", projector="calendar-projector"),
                    s.value("almanac_projector_lag_seconds", projector="calendar-projector"))

        poll("the projector catches up (lag 0 seen by the API process)", lambda: lag() == (0.0, 0.0), 30)
        # The projector process exports the same gauges on its own listener.
        poll("the projector's own /metrics has the lag gauge",
             lambda: Scrape(projector.metrics_port).type("almanac_projector_lag_events") == "gauge", 15)

        projector.kill()
        create_todos(server.base, key, 5, "while down")
        events, seconds = poll("the lag rises to the 5 events written while the projector is down",
                               lambda: (lambda l: l if l and l[0] >= 5 and l[1] > 0 else None)(lag()), 30)
        assert events == 5, events
        # Still down: the age of the oldest unapplied event keeps growing.
        poll("the lag in seconds grows while the projector is down",
             lambda: (lambda l: l and l[1] > seconds)(lag()), 15)

        projector.start()
        poll("the lag falls back to 0 once the projector runs again", lambda: lag() == (0.0, 0.0), 30)
    finally:
        projector.kill()
