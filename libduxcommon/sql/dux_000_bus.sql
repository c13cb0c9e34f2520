-- The event outbox and subscriber cursors, created in every daemon's schema.
-- (dux_002_events.sql moves published rows to bus_events.)
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    type       text NOT NULL,
    subject    text NOT NULL DEFAULT '',
    time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    data       jsonb NOT NULL,
    seq        bigint UNIQUE
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE seq IS NULL;

-- One row per source this daemon subscribes to: the last seq applied.
CREATE TABLE bus_cursor (
    source     text PRIMARY KEY,
    seq        bigint NOT NULL CHECK (seq >= 0),
    event_id   text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
