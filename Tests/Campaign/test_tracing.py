"""Tracing (issue #13): `almanac serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` exports its spans over
OTLP/HTTP (protobuf) to a collector, here a small fake one on loopback that decodes each
`POST /v1/traces` with opentelemetry-proto. A todo created through the API yields the request
span and the append span in one trace, the event row keeps the append's W3C `traceparent`, and
the embedded projector's batch span links to it. Without the variable the process exports
nothing and stores no trace context."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from harness import AlmanacProcess, auth, free_port, poll


class FakeCollector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every span it is sent."""

    def __init__(self):
        self.port = free_port()
        self.spans: list[dict] = []
        self.requests: list[str] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with collector.lock:
                    collector.requests.append(f"{self.path} {self.headers.get('Content-Type')}")
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                collector.add(export)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, export: ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append({
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "kind": span.kind,
                        "attributes": {a.key: a.value for a in span.attributes},
                        "links": [(l.trace_id.hex(), l.span_id.hex()) for l in span.links],
                        "service": resource.get("service.name"),
                        "instance": resource.get("service.instance.id"),
                    })
        with self.lock:
            self.spans += found

    def named(self, name: str) -> list[dict]:
        with self.lock:
            return [s for s in self.spans if s["name"] == name]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def stored_trace_contexts(pg) -> list[str]:
    """The events' trace_context column, one text per event (empty for NULL), in log order."""
    r = pg._run([str(pg.bindir / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                 "-At", "-c", "SELECT coalesce(trace_context::text, '') FROM events ORDER BY position"])
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def otel_env(endpoint: str, delay_ms: int, instance: str = "serve") -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": str(delay_ms),  # milliseconds between exports
        "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id={instance}",
    }


def traced_server_with_a_todo(pg, server_factory, endpoint: str, delay_ms: int, headers=None, extra_args=()):
    """`serve` exporting to `endpoint` every `delay_ms`, with one user who created one todo."""
    server = server_factory(pg.url, env=otel_env(endpoint, delay_ms), extra_args=extra_args)
    server.start()
    key = server.create_user("traced")
    r = requests.post(server.base + "/api/v1/todos", json={"title": "follow me"},
                      headers={**auth(key), **(headers or {})}, timeout=15)
    assert r.status_code == 201, r.text
    return server


@pytest.mark.timeout(120)
def test_serve_exports_the_request_append_and_projection_spans_of_one_change(pg, server_factory):
    with FakeCollector() as collector:
        traced_server_with_a_todo(pg, server_factory, f"http://127.0.0.1:{collector.port}", 100,
                                  headers={"X-Request-Id": "campaign-trace-1"})

        request = poll("a span for POST /api/v1/todos", lambda: collector.named("POST /api/v1/todos"), 30)[0]
        assert request["service"] == "almanac"
        assert request["attributes"]["http.route"].string_value == "/api/v1/todos"
        assert request["attributes"]["http.response.status_code"].int_value == 201
        assert request["attributes"]["almanac.request_id"].string_value == "campaign-trace-1"
        assert "url.path" not in request["attributes"]

        def append_of_request():
            return [s for s in collector.named("event_store.append")
                    if s["trace_id"] == request["trace_id"] and s["parent_span_id"] == request["span_id"]]

        append = poll("an append span in the request's trace", append_of_request, 30)[0]

        # The event row keeps the append span's W3C trace context.
        traceparent = f"00-{append['trace_id']}-{append['span_id']}-01"
        assert any(traceparent in stored for stored in stored_trace_contexts(pg)), stored_trace_contexts(pg)

        # The embedded projector's batch span links to the append.
        def linked_projection():
            return [s for s in collector.named("projection.apply")
                    if (append["trace_id"], append["span_id"]) in s["links"]]

        poll("a projection.apply span linked to the append", linked_projection, 30)
        assert all(r.startswith("/v1/traces ") for r in collector.requests), collector.requests


@pytest.mark.timeout(60)
def test_without_an_endpoint_nothing_is_exported_or_stored(pg, server_factory):
    server = server_factory(pg.url)
    server.start()
    key = server.create_user("untraced")
    r = requests.post(server.base + "/api/v1/todos", json={"title": "quiet"}, headers=auth(key), timeout=15)
    assert r.status_code == 201, r.text
    contexts = stored_trace_contexts(pg)
    assert contexts and all(c == "" for c in contexts), contexts
    assert "tracing on" not in server.log_text()


@pytest.mark.timeout(60)
def test_an_unsupported_exporter_protocol_is_refused_with_a_message(pg, server_factory):
    """swift-otel stops the process (fatalError) for the gRPC exporter this build leaves out:
    `almanac` refuses it first, with an exit code and a message."""
    server = server_factory(pg.url, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    })
    with pytest.raises(RuntimeError, match="only http/protobuf and http/json are built in"):
        server.start(wait=30)
    assert server.proc.returncode > 0, server.proc.returncode


@pytest.mark.timeout(90)
def test_sigterm_flushes_the_last_spans(pg, server_factory):
    """Spans still queued (a minute's schedule delay) are sent when the process stops: the
    exporter is a service of the group, stopped last."""
    with FakeCollector() as collector:
        server = traced_server_with_a_todo(pg, server_factory, f"http://127.0.0.1:{collector.port}", 60000)
        assert not collector.named("POST /api/v1/todos")  # still queued
        elapsed, code = server.terminate(bound=15)
        assert code == 0, (code, server.log_tail())
        assert collector.named("POST /api/v1/todos"), collector.requests
        assert collector.named("event_store.append")


@pytest.mark.timeout(90)
def test_sigterm_with_an_unreachable_collector_exits_in_time(pg, server_factory):
    """A collector that never answers does not hold the stop: the exporter gets 2 s to flush,
    then its spans are dropped (a warning), within --shutdown-timeout and with exit code 0."""
    server = traced_server_with_a_todo(pg, server_factory, f"http://127.0.0.1:{free_port()}", 100)
    elapsed, code = server.terminate(bound=15)
    assert code == 0, (code, server.log_tail())
    assert elapsed < 5, elapsed  # --shutdown-timeout's default
    assert "the span exporter did not flush" in server.log_text()


@pytest.mark.timeout(180)
def test_one_change_is_followed_from_serve_through_the_relay_to_a_kafka_projector(pg, server_factory, workdir):
    """The distributed shape, each process exporting to one collector: `serve --no-projector`,
    `relay --bus kafka` and `project --source kafka` (broker: `almanac dev-kafka`). The relay
    reads the append's trace context from PostgreSQL and puts it in the envelope; the relay's
    publish span and the projector's batch span, in their own processes, link to the append."""
    topic = "almanac.tracing"
    with FakeCollector() as collector:
        endpoint = f"http://127.0.0.1:{collector.port}"
        kafka = AlmanacProcess(["dev-kafka", "--brokers", "1", "--topic", topic, "--partitions", "2"],
                               workdir, "dev-kafka")
        started = [kafka]
        try:
            kafka.start()
            brokers = kafka.wait_for_output("KAFKA_BROKERS=")
            bus = ["--database-url", pg.url, "--kafka-brokers", brokers, "--kafka-topic", topic,
                   "--kafka-group", "tracing-projectors"]
            relay = AlmanacProcess(["relay", "--bus", "kafka", *bus], workdir, "relay",
                                   env=otel_env(endpoint, 100, "relay"))
            projector = AlmanacProcess(
                ["project", "--source", "kafka", *bus, "--kafka-setting", "session.timeout.ms=6000",
                 "--kafka-setting", "fetch.wait.max.ms=100"],
                workdir, "project", env=otel_env(endpoint, 100, "project"))
            started += [relay, projector]
            traced_server_with_a_todo(pg, server_factory, endpoint, 100, extra_args=["--no-projector"])
            relay.start()
            projector.start()

            request = poll("a span for POST /api/v1/todos", lambda: collector.named("POST /api/v1/todos"), 30)[0]
            append = poll("the request's append span", lambda: [
                s for s in collector.named("event_store.append") if s["parent_span_id"] == request["span_id"]], 30)[0]
            target = (append["trace_id"], append["span_id"])
            publish = poll("a relay.publish span linked to the append", lambda: [
                s for s in collector.named("relay.publish") if target in s["links"]], 60)[0]
            batch = poll("a kafka.projector.batch span linked to the append", lambda: [
                s for s in collector.named("kafka.projector.batch") if target in s["links"]], 90)[0]
            assert (request["instance"], publish["instance"], batch["instance"]) == ("serve", "relay", "project")
            catch_up = poll("the batch's projection.catch_up span", lambda: [
                s for s in collector.named("projection.catch_up") if s["parent_span_id"] == batch["span_id"]], 30)
            assert catch_up[0]["trace_id"] == batch["trace_id"]
        finally:
            for process in reversed(started):
                process.stop()
