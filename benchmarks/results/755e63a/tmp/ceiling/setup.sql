-- The append-only event log, one stream per user, and the stream heads used for
-- optimistic concurrency.

CREATE TABLE streams (
    stream_id  bigint PRIMARY KEY,
    version    bigint NOT NULL CHECK (version >= 0)
);

CREATE TABLE events (
    -- bigserial is NOT commit order: readers of the global log use (txid, position)
    -- below the snapshot horizon, see EventStore.readAll.
    position     bigserial PRIMARY KEY,
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id    bigint NOT NULL,
    version      bigint NOT NULL CHECK (version >= 1),
    event_id     uuid NOT NULL UNIQUE,
    type         text NOT NULL,
    data         jsonb NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);

CREATE INDEX events_global_order ON events (txid, position);

-- Progress of every tailing reader (projector, relay), saved in the same
-- transaction as the reader's own writes.
CREATE TABLE checkpoints (
    name        text PRIMARY KEY,
    txid        xid8 NOT NULL,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Users (one event stream each) and the todo list, an inline projection
-- written in the same transaction as the events that change it.

CREATE TABLE users (
    id            bigint PRIMARY KEY,          -- = events.stream_id
    name          text NOT NULL UNIQUE,
    api_key_hash  bytea NOT NULL UNIQUE,       -- sha256 of the key; the key itself is never stored
    time_zone     text NOT NULL DEFAULT 'UTC', -- folded from UserRegistered/TimeZoneChanged
    last_todo_id  bigint NOT NULL DEFAULT 0,   -- per-user ids are never reused
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE user_ids OWNED BY users.id;

CREATE TABLE todos (
    user_id         bigint NOT NULL REFERENCES users (id),
    todo_id         bigint NOT NULL,
    uid             text NOT NULL,
    title           text NOT NULL,
    description     text NOT NULL,
    completed       boolean NOT NULL,
    completed_at    bigint,                 -- microseconds since the epoch
    deadline_at     text,                   -- exactly as the client sent it
    deadline_local  timestamp,              -- wall-clock deadline in the user's zone (no offset given)
    deadline_utc    timestamptz,            -- deadline with an explicit offset
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    revision        integer NOT NULL,
    PRIMARY KEY (user_id, todo_id)
);

CREATE INDEX todos_open ON todos (user_id, completed, todo_id);

-- The trace context of the append that wrote an event (issue #13, tracing): the propagation
-- fields the process's tracer injects, e.g. {"traceparent": "00-…-…-01", "tracestate": "…"}
-- with OpenTelemetry. NULL when no span was recording (tracing off: nothing is written). The
-- relay copies it into the bus envelope so that projectors can link their batch spans to it.
ALTER TABLE events ADD COLUMN trace_context jsonb;

INSERT INTO users (id, name, api_key_hash)
    SELECT i, 'ceiling-' || i, sha256(i::text::bytea) FROM generate_series(1, 16) AS i;
INSERT INTO streams (stream_id, version) SELECT i, 1 FROM generate_series(1, 16) AS i;
VACUUM ANALYZE;
