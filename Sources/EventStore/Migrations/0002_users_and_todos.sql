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
