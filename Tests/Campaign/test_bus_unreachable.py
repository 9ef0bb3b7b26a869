"""10. `serve --bus kafka` with the broker unreachable starts (the API and the metrics listener
answer; the consumer-lag sampler runs against a consumer that has no partitions), and SIGTERM ends
it within the shutdown deadline with exit code 0 (no hard stop); the same when the database is
also gone by the time of the SIGTERM (issue #10, finding 12)."""

from __future__ import annotations

import time

import pytest
import requests

from conftest import budget
from harness import fail_if, free_port

SHUTDOWN_TIMEOUT = 3
# The process's own deadlines: graceful shutdown, then 5 s of cancellation, then a hard stop.
DEADLINE = SHUTDOWN_TIMEOUT + 5.0


def start_without_broker(pg_factory, server_factory, name: str):
    pg = pg_factory(name=name)
    # Nothing listens there: the port was free a moment ago and the test binds nothing to it.
    broker = f"127.0.0.1:{free_port()}"
    metrics = free_port()
    server = server_factory(pg.url, name=name, extra_args=[
        "--bus", "kafka", "--kafka-brokers", broker, "--shutdown-timeout", str(SHUTDOWN_TIMEOUT),
        "--metrics-port", str(metrics), "--metrics-sample-interval", "1"])
    server.start()
    # Up and failing to reach the broker: the relay and the consumer are in their retry loops.
    deadline = time.monotonic() + 30
    while "Connection refused" not in server.log_text():
        assert time.monotonic() < deadline, "no connection attempt to the broker logged within 30 s"
        time.sleep(0.1)
    server.create_user("una")  # an event the relay cannot publish: the relay waits on the broker
    r = requests.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5)
    assert r.status_code == 200, f"GET /metrics: {r.status_code}"
    # No partition is owned without a broker: no lag series (rather than a made-up one).
    assert "almanac_kafka_consumer_lag_messages{" not in r.text, r.text
    return pg, server


def check_exit(server, figures, what: str) -> list[str]:
    seconds, code = server.terminate(bound=DEADLINE + 5)
    figures[f"{what}: SIGTERM to exit"] = (f"{seconds:.2f} s (exit code {code})" if code is not None
                                          else f"not exited after {seconds:.1f} s: killed")
    if code is None:
        return [f"{what}: not exited {DEADLINE + 5:.0f} s after SIGTERM (killed with SIGKILL)"]
    problems = []
    if code != 0:
        problems.append(f"{what}: exit code {code} after {seconds:.2f} s (a hard stop, or a failure)")
    if seconds > DEADLINE:
        problems.append(f"{what}: exited {seconds:.2f} s after SIGTERM, past the {DEADLINE:.0f} s deadline")
    return problems


@pytest.mark.timeout(budget(120, 120))
def test_sigterm_with_the_broker_unreachable(pg_factory, server_factory, figures):
    _, server = start_without_broker(pg_factory, server_factory, "busdown")
    fail_if(check_exit(server, figures, "broker unreachable"), server)


@pytest.mark.timeout(budget(120, 120))
def test_sigterm_with_the_broker_and_the_database_gone(pg_factory, server_factory, figures):
    pg, server = start_without_broker(pg_factory, server_factory, "busdbdown")
    before = len(server.log_text())
    pg.stop("immediate")
    # The process has noticed: its loops reconnect, and the connections are refused.
    deadline = time.monotonic() + 30
    while "Connection creation failed" not in server.log_text()[before:]:
        assert time.monotonic() < deadline, "no failed database connection logged within 30 s"
        time.sleep(0.1)
    assert server.alive(), "the server exited when the database went away"
    fail_if(check_exit(server, figures, "broker and database gone"), server)
