-- The trace context of the append that wrote an event (issue #13, tracing): the propagation
-- fields the process's tracer injects, e.g. {"traceparent": "00-…-…-01", "tracestate": "…"}
-- with OpenTelemetry. NULL when no span was recording (tracing off: nothing is written). The
-- relay copies it into the bus envelope so that projectors can link their batch spans to it.
ALTER TABLE events ADD COLUMN trace_context jsonb;
