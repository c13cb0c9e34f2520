-- Heartbeats rewrite a node's row every few seconds. With no index on the columns they change
-- and free room on each page, PostgreSQL updates the row in place (HOT): no index writes and a
-- third of the WAL. The health monitor's sweep scans the table instead, cheap at this size.
DROP INDEX nodes_online_heartbeat;
ALTER TABLE nodes SET (fillfactor = 70);

-- The same score, written without FROM so that PostgreSQL inlines it into every query that
-- uses it instead of planning a function call per row.
CREATE OR REPLACE FUNCTION reputation(s double precision, f double precision,
                                      updated timestamptz, hl double precision,
                                      a double precision, b double precision)
RETURNS double precision LANGUAGE sql STABLE AS $$
    SELECT (s * power(2.0, -greatest(extract(epoch FROM now() - updated), 0) / hl) + a)
         / ((s + f) * power(2.0, -greatest(extract(epoch FROM now() - updated), 0) / hl) + a + b)
$$;
