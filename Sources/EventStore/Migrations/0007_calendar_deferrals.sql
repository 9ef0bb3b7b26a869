-- A time-zone change re-renders every entry of a calendar. For a large calendar that is done
-- outside the projector's shared transaction, so that other users' changes keep flowing, and
-- in short transactions, so that no long writing transaction holds the gap-safe reader back.
--
-- The projector records the user here and skips the user's events while a row exists; the
-- deferred re-renderer brings the calendar to its stream's head and deletes the rows it
-- covered. Rows are only inserted by the projector and deleted by the re-renderer.
CREATE TABLE calendar_deferrals (
    id          bigserial   PRIMARY KEY,
    user_id     bigint      NOT NULL,
    version     bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_deferrals_user ON calendar_deferrals (user_id, version);

-- The re-render is written beside the served fragments, chunk by chunk: `next_event` and
-- `next_task` hold an entry's fragments as of stream version `next_version` (the zone change).
-- Feed readers take them instead of `event`/`task` once the calendar's version has reached
-- `next_version`, so one short statement that advances the calendar switches every entry at
-- once. A later write of the entry clears them; the re-renderer folds them into `event`/`task`.
ALTER TABLE calendar_entries
    ADD COLUMN next_event   bytea,
    ADD COLUMN next_task    bytea,
    ADD COLUMN next_version bigint;
