-- The store's catalogue: services (the current version of each), their earlier versions,
-- reviews, and the paid calls learned from duxos-escrow's escrow.released events.
--
-- Search reads only services, the current versions: old versions sit in service_versions so
-- that the hot table and its indexes stay as small as the catalogue itself. Every search index
-- is partial on listed, so delisted services cost searches nothing.

-- Reputation is a Bayesian average on the 0..5 star scale with a prior of m = 3 stars weighing
-- C = 5 votes: (C x m + sum of stars) / (C + number of reviews), rounded to 4 decimals. A
-- service without reviews has 3; one 5-star review gives 3.3333, not 5. Changing the prior is a
-- migration (the column is generated from it).
CREATE TABLE services (
    id           text PRIMARY KEY CHECK (length(id) = 36),   -- svc_ + 32 hex, by the daemon
    owner        text NOT NULL CHECK (length(owner) BETWEEN 1 AND 127),  -- token subject
    provider     text NOT NULL,           -- wallet address owned by owner (checked at publish)
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    version      text NOT NULL,           -- semantic version of the current version
    version_seq  integer NOT NULL DEFAULT 1 CHECK (version_seq >= 1),  -- 1, 2, ... per PUT
    price        bigint NOT NULL CHECK (price >= 0),  -- base units per call
    tags         text[] NOT NULL DEFAULT '{}',
    endpoint     text NOT NULL,
    rate_limit   integer NOT NULL CHECK (rate_limit > 0),  -- calls per minute per caller
    listed       boolean NOT NULL DEFAULT true,
    total_calls  bigint NOT NULL DEFAULT 0 CHECK (total_calls >= 0),
    rating_count bigint NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum   bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    reputation   numeric(5, 4) GENERATED ALWAYS AS
                     (round((15 + rating_sum)::numeric / (5 + rating_count), 4)) STORED,
    document     tsvector NOT NULL,       -- weighted words of name, tags, description (trigger)
    idem_key     text,                    -- Idempotency-Key of the POST that made it
    idem_hash    text,                    -- SHA-256 of that request's fields
    created_at   timestamptz NOT NULL DEFAULT now(),
    version_at   timestamptz NOT NULL DEFAULT now(),  -- when the current version was published
    updated_at   timestamptz NOT NULL DEFAULT now(),  -- last publish, new version or delisting
    delisted_at  timestamptz
);
CREATE UNIQUE INDEX services_owner_idem ON services (owner, idem_key) WHERE idem_key IS NOT NULL;
-- full-text search, tags, and one (key, id) index per sort order for keyset pages
CREATE INDEX services_document ON services USING gin (document) WHERE listed;
CREATE INDEX services_tags ON services USING gin (tags) WHERE listed;
CREATE INDEX services_by_reputation ON services (reputation, id) WHERE listed;
CREATE INDEX services_by_calls ON services (total_calls, id) WHERE listed;
CREATE INDEX services_by_price ON services (price, id) WHERE listed;
CREATE INDEX services_by_created ON services (created_at, id) WHERE listed;
CREATE INDEX services_by_provider ON services (provider, created_at, id) WHERE listed;

-- The words a search finds: name (weight A), tags (B), description (C), English stemming.
-- array_to_string is only STABLE in general, but of text[] with a constant separator it is
-- immutable, so the whole function is.
CREATE FUNCTION service_document(name text, tags text[], description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT setweight(to_tsvector('english'::regconfig, name), 'A') ||
       setweight(to_tsvector('english'::regconfig, array_to_string(tags, ' ')), 'B') ||
       setweight(to_tsvector('english'::regconfig, description), 'C')
$$;

-- Maintained by the row itself, and only when the words change (not on every total_calls + 1).
CREATE FUNCTION services_document_set() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.document := service_document(NEW.name, NEW.tags, NEW.description);
    RETURN NEW;
END
$$;
CREATE TRIGGER services_document BEFORE INSERT OR UPDATE OF name, tags, description ON services
    FOR EACH ROW EXECUTE FUNCTION services_document_set();

-- Earlier versions, as they were when a PUT replaced them. The current version is in services.
CREATE TABLE service_versions (
    service_id    text NOT NULL REFERENCES services (id),
    seq           integer NOT NULL CHECK (seq >= 1),
    version       text NOT NULL,
    provider      text NOT NULL,
    name          text NOT NULL,
    description   text NOT NULL,
    price         bigint NOT NULL CHECK (price >= 0),
    tags          text[] NOT NULL,
    endpoint      text NOT NULL,
    rate_limit    integer NOT NULL CHECK (rate_limit > 0),
    published_at  timestamptz NOT NULL,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, seq)
);
CREATE UNIQUE INDEX service_versions_version ON service_versions (service_id, version);

-- One review per reviewer and service: posting again replaces it.
CREATE TABLE reviews (
    service_id text NOT NULL REFERENCES services (id),
    reviewer   text NOT NULL CHECK (length(reviewer) BETWEEN 1 AND 127),
    stars      smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    body       text,
    version    text NOT NULL,      -- the service's version when it was written
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, reviewer)
);
CREATE INDEX reviews_page ON reviews (service_id, updated_at, reviewer);

-- Paid calls: one row per released escrow (escrow.released of duxos-escrow), whatever its
-- api_id. The escrow id as key counts a release once even if it were delivered twice; the
-- subscriber's cursor (bus_cursor) already applies every event once. Calls of an api_id that
-- is no service (yet) stay here and are counted into total_calls should it appear.
CREATE TABLE calls (
    escrow_id   text PRIMARY KEY,
    api_id      text NOT NULL,
    owner       text NOT NULL,     -- the token subject that paid: may review api_id
    amount      bigint NOT NULL CHECK (amount > 0),
    released_at timestamptz NOT NULL,
    counted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_payer ON calls (api_id, owner);

-- A service as the API shows it (every field of the seed's Service Metadata Schema first).
CREATE FUNCTION service_json(s services) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'id', s.id, 'name', s.name, 'description', s.description, 'version', s.version,
    'provider', s.provider, 'price', flop(s.price), 'tags', to_json(s.tags),
    'endpoint', s.endpoint, 'rate_limit', s.rate_limit, 'reputation', s.reputation,
    'total_calls', s.total_calls, 'created_at', utc_text(s.created_at),
    'updated_at', utc_text(s.updated_at), 'listed', s.listed, 'owner', s.owner,
    'rating_count', s.rating_count,
    'rating_mean', CASE WHEN s.rating_count > 0
                        THEN round(s.rating_sum::numeric / s.rating_count, 4) END,
    'current', true, 'published_at', utc_text(s.version_at), 'superseded_at', NULL)
$$;

-- An earlier version as GET /services/{id}?version=X shows it: its own fields, the service's
-- counters and reputation (they belong to the service, not to one version).
CREATE FUNCTION service_version_json(s services, v service_versions) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'id', s.id, 'name', v.name, 'description', v.description, 'version', v.version,
    'provider', v.provider, 'price', flop(v.price), 'tags', to_json(v.tags),
    'endpoint', v.endpoint, 'rate_limit', v.rate_limit, 'reputation', s.reputation,
    'total_calls', s.total_calls, 'created_at', utc_text(s.created_at),
    'updated_at', utc_text(v.published_at), 'listed', s.listed, 'owner', s.owner,
    'rating_count', s.rating_count,
    'rating_mean', CASE WHEN s.rating_count > 0
                        THEN round(s.rating_sum::numeric / s.rating_count, 4) END,
    'current', false, 'published_at', utc_text(v.published_at),
    'superseded_at', utc_text(v.superseded_at))
$$;

-- One entry of GET /services/{id}/versions.
CREATE FUNCTION version_entry(seq integer, version text, provider text, name text,
                              description text, price bigint, tags text[], endpoint text,
                              rate_limit integer, published_at timestamptz,
                              superseded_at timestamptz) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'seq', seq, 'version', version, 'name', name, 'description', description,
    'provider', provider, 'price', flop(price), 'tags', to_json(tags), 'endpoint', endpoint,
    'rate_limit', rate_limit, 'current', superseded_at IS NULL,
    'published_at', utc_text(published_at), 'superseded_at', utc_text(superseded_at))
$$;

CREATE FUNCTION review_json(r reviews) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'service_id', r.service_id, 'reviewer', r.reviewer, 'stars', r.stars, 'text', r.body,
    'version', r.version, 'created_at', utc_text(r.created_at),
    'updated_at', utc_text(r.updated_at))
$$;
