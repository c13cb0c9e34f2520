-- Published events move out of the outbox. The relay used to number each row in place, which
-- wrote every event twice with all its indexes; now it deletes the committed outbox rows and
-- inserts them, numbered, into bus_events in one statement: the outbox holds only what waits
-- for the relay (one index), bus_events only what was published (one index, by seq).
CREATE TABLE bus_events (
    seq      bigint PRIMARY KEY,  -- consecutive per source, given by the relay
    event_id text NOT NULL,
    type     text NOT NULL,
    subject  text NOT NULL,
    time     timestamptz NOT NULL,
    data     jsonb NOT NULL
);
INSERT INTO bus_events (seq, event_id, type, subject, time, data)
SELECT seq, event_id, type, subject, time, data FROM outbox WHERE seq IS NOT NULL;
DELETE FROM outbox WHERE seq IS NOT NULL;
-- event ids are 128 random bits (dux_random_id, gen_random_uuid): no index checks them
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP COLUMN seq;  -- and the indexes on it
