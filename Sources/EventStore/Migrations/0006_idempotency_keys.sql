-- Idempotency keys (the `Idempotency-Key` request header): the first answer to a keyed write,
-- saved in the write's own transaction, so that a client retrying after an uncertain commit
-- (a dropped connection, a 5xx) gets that answer again instead of writing twice. Keys are per
-- user and kept for a day (IdempotencyTable.retention).
CREATE TABLE idempotency_keys (
    user_id      bigint      NOT NULL,
    key          text        NOT NULL,
    fingerprint  bytea       NOT NULL,
    status       integer     NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
