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
