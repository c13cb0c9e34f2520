-- Nodes of the network: identity, contact, advertised resources, liveness and reputation.
CREATE TABLE nodes (
    node_id           text PRIMARY KEY CHECK (node_id ~ '^[0-9a-f]{32}$'),
    public_key        bytea NOT NULL CHECK (length(public_key) = 32),
    wallet_address    text NOT NULL,
    ip_address        inet NOT NULL,
    port              integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    capabilities      text[] NOT NULL DEFAULT '{}',
    cpu_cores         integer NOT NULL DEFAULT 0 CHECK (cpu_cores >= 0),
    memory_mb         bigint NOT NULL DEFAULT 0 CHECK (memory_mb >= 0),
    disk_mb           bigint NOT NULL DEFAULT 0 CHECK (disk_mb >= 0),
    status            text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline')),
    registered_at     timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    last_heartbeat    timestamptz NOT NULL DEFAULT now(),
    -- highest X-Dux-Counter accepted from this node: a request must carry a larger one
    last_counter      bigint NOT NULL,
    uptime            bigint NOT NULL DEFAULT 0 CHECK (uptime >= 0),
    load_average      double precision[] NOT NULL DEFAULT '{0,0,0}',
    available_memory  bigint NOT NULL DEFAULT 0 CHECK (available_memory >= 0),
    available_cpu     double precision NOT NULL DEFAULT 0 CHECK (available_cpu >= 0),
    -- exponentially decayed counts of task outcomes, as of rep_updated
    rep_success       double precision NOT NULL DEFAULT 0,
    rep_failure       double precision NOT NULL DEFAULT 0,
    rep_updated       timestamptz NOT NULL DEFAULT now(),
    tasks_succeeded   bigint NOT NULL DEFAULT 0,
    tasks_failed      bigint NOT NULL DEFAULT 0
);
CREATE INDEX nodes_online_heartbeat ON nodes (last_heartbeat) WHERE status = 'online';
CREATE INDEX nodes_capabilities ON nodes USING gin (capabilities);

-- One row per reported task outcome: the same report twice counts once.
CREATE TABLE outcomes (
    node_id     text NOT NULL REFERENCES nodes (node_id),
    task_id     text NOT NULL,
    success     boolean NOT NULL,
    reported_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, task_id)
);

-- Bayesian success rate with exponential decay (documented in the registry README):
-- counts decay with half-life hl seconds; prior a successes and b failures.
CREATE FUNCTION reputation(s double precision, f double precision, updated timestamptz,
                           hl double precision, a double precision, b double precision)
RETURNS double precision LANGUAGE sql STABLE AS $$
    SELECT (s * d + a) / ((s + f) * d + a + b)
    FROM (SELECT power(2.0, -greatest(extract(epoch FROM now() - updated), 0) / hl) AS d) x
$$;
