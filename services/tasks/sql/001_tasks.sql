-- duxos-tasks: tasks, the attempts that run them on nodes, the bundles behind paid calls, and
-- this daemon's view of the registry's nodes.

-- The nodes as the registry's node.* events describe them (never the registry's tables), plus
-- what each executor says about itself when it claims work (free slots, memory, load).
CREATE TABLE nodes (
    id           text PRIMARY KEY CHECK (length(id) = 32),
    wallet       text NOT NULL,
    public_key   text NOT NULL,                 -- base64url Ed25519, verifies its requests
    status       text NOT NULL,                 -- the registry's: online | offline
    capabilities text[] NOT NULL DEFAULT '{}',
    reputation   double precision NOT NULL DEFAULT 0,
    registered_at timestamptz,
    event_seq    bigint NOT NULL DEFAULT 0,     -- the registry event that wrote this row
    counter      bigint NOT NULL DEFAULT 0,     -- last signed-request counter accepted
    seen_at      timestamptz,                   -- last claim: the executor is alive
    slots        integer NOT NULL DEFAULT 0,    -- free sandbox slots it announced
    memory_mb    bigint NOT NULL DEFAULT 0,     -- free memory it announced
    cpus         double precision NOT NULL DEFAULT 0,
    load1        double precision NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nodes_wallet ON nodes (wallet);

-- A service's code bundle, signed by its provider: executors run only bundles whose signature
-- verifies with a key their operator trusts (tasks.bundle_keys).
CREATE TABLE bundles (
    service_id  text NOT NULL,
    version     text NOT NULL,
    runtime     text NOT NULL CHECK (runtime IN ('bash', 'python', 'node')),
    code        text NOT NULL,
    code_sha256 text NOT NULL CHECK (length(code_sha256) = 64),
    public_key  text NOT NULL,
    signature   text NOT NULL,
    output_format jsonb NOT NULL,
    published_by text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, version)
);

CREATE TABLE tasks (
    id            text PRIMARY KEY CHECK (length(id) = 36),   -- tsk_ + 32 hex
    kind          text NOT NULL CHECK (kind IN ('generic', 'call')),
    owner         text NOT NULL,
    service_id    text,
    bundle_version text,
    provider_wallet text,            -- calls: only nodes paid on this wallet run them
    runtime       text NOT NULL CHECK (runtime IN ('bash', 'python', 'node')),
    code          text NOT NULL,
    code_sha256   text NOT NULL CHECK (length(code_sha256) = 64),
    input         text NOT NULL DEFAULT '',
    memory_limit  text NOT NULL,     -- as asked ("512m"); memory_bytes is what it means
    memory_bytes  bigint NOT NULL CHECK (memory_bytes > 0),
    cpu_limit     text NOT NULL,
    cpu_milli     integer NOT NULL CHECK (cpu_milli > 0),
    timeout_s     integer NOT NULL CHECK (timeout_s > 0),
    network       boolean NOT NULL DEFAULT false,
    output_format jsonb NOT NULL,
    replicas_asked integer NOT NULL CHECK (replicas_asked BETWEEN 1 AND 5),
    replicas      integer NOT NULL CHECK (replicas BETWEEN 1 AND 5),
    escrow_id     text,
    funded        boolean NOT NULL DEFAULT true,   -- false: a call waiting for its escrow
    idem_key      text,
    state         text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed',
                      'cancelled')),
    reason        text,
    detail        text,
    result_hash   text CHECK (length(result_hash) = 64),
    output        text,
    -- a paid task's escrow step after it ended: 'release' | 'refund' pending, 'done'
    settle        text CHECK (settle IN ('release', 'refund', 'done')),
    settle_note   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'succeeded') = (result_hash IS NOT NULL))
);
CREATE UNIQUE INDEX tasks_owner_idem ON tasks (owner, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX tasks_owner ON tasks (owner, id);
CREATE INDEX tasks_open ON tasks (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX tasks_settle ON tasks (updated_at) WHERE settle IN ('release', 'refund');
CREATE INDEX tasks_service ON tasks (service_id, id) WHERE service_id IS NOT NULL;

CREATE TABLE attempts (
    id            text PRIMARY KEY CHECK (length(id) = 36),   -- att_ + 32 hex
    task_id       text NOT NULL REFERENCES tasks (id),
    node_id       text NOT NULL,
    wallet        text NOT NULL,
    state         text NOT NULL CHECK (state IN ('offered', 'running', 'reported', 'lost',
                      'cancelled')),
    verdict       text NOT NULL DEFAULT 'pending' CHECK (verdict IN ('pending', 'agreed',
                      'disagreed', 'failed', 'lost')),
    lease_until   timestamptz NOT NULL,
    reason        text,              -- the sandbox's, as the node reported it
    detail        text,
    exit_code     integer,
    output        text,
    output_sha256 text CHECK (length(output_sha256) = 64),
    output_valid  boolean,
    stdout_truncated boolean NOT NULL DEFAULT false,
    stderr        text,
    stderr_truncated boolean NOT NULL DEFAULT false,
    usage         jsonb,
    -- what the registry hears about the node (success | failure), and whether it has
    outcome       text CHECK (outcome IN ('success', 'failure')),
    outcome_sent  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX attempts_task ON attempts (task_id, created_at);
CREATE INDEX attempts_node_open ON attempts (node_id) WHERE state IN ('offered', 'running');
CREATE INDEX attempts_lease ON attempts (lease_until) WHERE state IN ('offered', 'running');
CREATE INDEX attempts_outcome ON attempts (finished_at)
    WHERE outcome IS NOT NULL AND NOT outcome_sent;
CREATE INDEX attempts_node_recent ON attempts (node_id, finished_at);
