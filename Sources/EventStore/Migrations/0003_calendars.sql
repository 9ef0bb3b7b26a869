-- The calendar projection (one pre-rendered fragment per todo), feed tokens and calendar jobs.

CREATE TABLE calendars (
    user_id     bigint PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 0,     -- last applied stream version
    generation  integer NOT NULL DEFAULT 1,    -- bumped by a full rebuild: caches reload
    name        text NOT NULL DEFAULT '',
    time_zone   text NOT NULL DEFAULT 'UTC',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per todo ever seen: its projected state and rendered fragments. A deleted todo
-- stays as a tombstone (deleted, no fragments) so caches can apply the deletion by delta.
CREATE TABLE calendar_entries (
    user_id          bigint NOT NULL,
    todo_id          bigint NOT NULL,
    uid              text NOT NULL,
    title            text NOT NULL,
    description      text NOT NULL,
    completed        boolean NOT NULL,
    completed_at     bigint,
    deadline_at      text,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    revision         integer NOT NULL,
    deleted          boolean NOT NULL DEFAULT false,
    event            bytea,      -- VEVENT fragment (NULL: no deadline, or deleted)
    task             bytea,      -- VTODO fragment (NULL: deleted)
    changed_version  bigint NOT NULL,
    PRIMARY KEY (user_id, todo_id)
);

CREATE INDEX calendar_entries_changes ON calendar_entries (user_id, changed_version);

-- Secret feed URLs: only hashes are stored. A rotated-away token stays, revoked, to answer 410.
CREATE TABLE feed_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL,
    generation  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    UNIQUE (user_id, generation)
);

-- Server-side secrets generated once per database (e.g. the feed-token key).
CREATE TABLE server_secrets (
    name   text PRIMARY KEY,
    value  text NOT NULL
);

INSERT INTO server_secrets (name, value)
VALUES ('feed_token_key', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

CREATE TABLE jobs (
    id                   uuid PRIMARY KEY,
    user_id              bigint NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('projection', 'full')),
    target_version       bigint NOT NULL,
    status               text NOT NULL DEFAULT 'PENDING'
                         CHECK (status IN ('PENDING', 'STARTED', 'SUCCESS', 'FAILURE')),
    attempts             integer NOT NULL DEFAULT 0,
    lease_until          timestamptz,
    duration_ms          double precision,
    matches_incremental  boolean,
    error                text,
    result               bytea,
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    finished_at          timestamptz
);

CREATE INDEX jobs_runnable ON jobs (created_at) WHERE status IN ('PENDING', 'STARTED');
