-- The change feed of the search index (index_feed.c): every inserted or updated service gets
-- a new change_seq and the id of the transaction that wrote it. Each copy of the daemon reads
-- the rows whose change_xid is at or above the xmin of its previous read's snapshot, so a
-- change committed late under an early change_seq is never skipped; change_seq orders the
-- reads and tells a newer version of a row from one already taken in.
CREATE SEQUENCE services_change_seq;
ALTER TABLE services
    ADD COLUMN change_seq bigint NOT NULL DEFAULT nextval('services_change_seq'),
    ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX services_by_change_seq ON services (change_seq);
CREATE INDEX services_by_change_xid ON services (change_xid);

-- Every write of a row, whatever the columns (total_calls from the escrow's events, ratings
-- from reviews, a psql session): the sequence is named with the table's schema, as a session
-- need not have it on its search_path.
CREATE FUNCTION services_change_mark() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.change_seq := nextval(format('%I.services_change_seq', TG_TABLE_SCHEMA)::regclass);
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;
CREATE TRIGGER services_change BEFORE INSERT OR UPDATE ON services
    FOR EACH ROW EXECUTE FUNCTION services_change_mark();
