-- Replay protection of node-signed requests: each counter is accepted once per node (within
-- the clock window dux_req_signed checks). Not "strictly increasing", because an executor's
-- slots and its watch thread sign and send at the same time on separate connections, so their
-- requests may arrive out of order. Rows older than the window are pruned by the scheduler job.
CREATE TABLE seen_counters (
    node_id text NOT NULL,
    counter bigint NOT NULL,
    PRIMARY KEY (node_id, counter)
);
CREATE INDEX seen_counters_age ON seen_counters (counter);
ALTER TABLE nodes DROP COLUMN counter;

-- What an Idempotency-Key stands for: the SHA-256 of the request's meaning (spec_digest in
-- input.c, call_digest in api_calls.c), so that the same key with another request is refused
-- instead of answered with the first task.
ALTER TABLE tasks ADD COLUMN request_sha256 text;
