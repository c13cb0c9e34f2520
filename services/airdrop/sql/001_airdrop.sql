-- duxos-airdrop: its own view of the nodes (from duxos-registry's node.* events), of their
-- validated work (from duxos-tasks' task.succeeded / task.failed), of the community fund (from
-- duxos-escrow's fund.balance and a periodic read), and the rounds with their recipients,
-- approvals and signed audit log. It never reads another daemon's tables.

-- A node as the registry's last event about it described it.
CREATE TABLE nodes (
    node_id        text PRIMARY KEY CHECK (node_id ~ '^[0-9a-f]{32}$'),
    wallet_address text NOT NULL,
    status         text NOT NULL CHECK (status IN ('online', 'offline')),
    reputation     double precision NOT NULL,
    last_heartbeat timestamptz NOT NULL,
    registered_at  timestamptz NOT NULL,
    event_seq      bigint NOT NULL,            -- the registry's seq of the event applied
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nodes_wallet ON nodes (wallet_address);

-- One row per attempt a task event judged (agreed, disagreed; failed and lost attempts are
-- of no use to the airdrop and are not kept). at: when the attempt finished (else the task).
CREATE TABLE attempts (
    attempt_id text PRIMARY KEY,
    task_id    text NOT NULL,
    node_id    text NOT NULL,
    verdict    text NOT NULL CHECK (verdict IN ('agreed', 'disagreed')),
    cpu_us     bigint NOT NULL DEFAULT 0 CHECK (cpu_us >= 0),
    at         timestamptz NOT NULL
);
CREATE INDEX attempts_node ON attempts (node_id, verdict, at);
CREATE INDEX attempts_at ON attempts (at);

-- The fund's balance: the newest reading (fund.balance event or the periodic check), by the
-- time it was read.
CREATE TABLE fund (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    balance    bigint NOT NULL CHECK (balance >= 0),
    read_at    timestamptz NOT NULL,
    source     text NOT NULL,                  -- 'event' or 'check'
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Wallet addresses known to be ledger accounts (accounts are never deleted, so a yes stays).
CREATE TABLE ledger_accounts (
    address    text PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT now()
);

-- Rounds. proposed -> executing (M approvals) -> executed; proposed -> expired (airdrop.round_ttl);
-- executing -> failed (the escrow refused the payout for good: nothing was paid).
CREATE TABLE rounds (
    id            text PRIMARY KEY CHECK (id ~ '^adr_[0-9a-f]{32}$'),
    status        text NOT NULL CHECK (status IN ('proposed', 'executing', 'executed',
                                                  'expired', 'failed')),
    fund_balance  bigint NOT NULL CHECK (fund_balance >= 0),
    total         bigint NOT NULL CHECK (total > 0 AND total <= fund_balance),
    nrecipients   integer NOT NULL CHECK (nrecipients BETWEEN 1 AND 100000),
    weighting     text NOT NULL CHECK (weighting IN ('equal', 'work')),
    digest        text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    required      integer NOT NULL CHECK (required >= 1),  -- approvals needed (M)
    eligible      integer NOT NULL DEFAULT 0,  -- eligible nodes seen when proposed
    dropped_dust  integer NOT NULL DEFAULT 0,  -- recipients dropped below the dust minimum
    reason        text,                        -- why failed or expired
    payout        jsonb,                       -- the escrow's answer
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    approved_at   timestamptz,
    executed_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- At most one open round: the guarantee that one crossing proposes exactly one round.
CREATE UNIQUE INDEX rounds_one_open ON rounds ((true)) WHERE status IN ('proposed', 'executing');
CREATE INDEX rounds_created ON rounds (created_at DESC, id DESC);

CREATE TABLE recipients (
    round_id  text NOT NULL REFERENCES rounds (id),
    position  integer NOT NULL CHECK (position >= 1),
    node_id   text NOT NULL,
    address   text NOT NULL,
    weight    bigint NOT NULL CHECK (weight >= 1),
    amount    bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (round_id, position),
    UNIQUE (round_id, address),
    UNIQUE (round_id, node_id)
);

CREATE TABLE approvals (
    round_id   text NOT NULL REFERENCES rounds (id),
    approver   text NOT NULL,                  -- base64url Ed25519 public key
    signature  text NOT NULL,                  -- base64url, over the digest's 64 hex characters
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, approver)
);

-- The audit log, as duxos-escrow's: queued in the transaction that makes the change, linked
-- into a hash chain and signed by one writer.
CREATE TABLE audit_queue (
    id         bigserial PRIMARY KEY,
    action     text NOT NULL,
    round_id   text,
    actor      text NOT NULL,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    action     text NOT NULL,
    round_id   text,
    actor      text NOT NULL,
    data       text NOT NULL,
    created_at text NOT NULL,
    prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash       text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    signature  text NOT NULL
);
CREATE INDEX audit_round ON audit_log (round_id, seq) WHERE round_id IS NOT NULL;

-- A round as the API and the events show it; with_all adds every recipient and approval.
CREATE FUNCTION round_json(r rounds, with_all boolean) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT jsonb_build_object(
    'id', r.id, 'status', r.status, 'fund_balance', flop(r.fund_balance),
    'total', flop(r.total), 'remainder', flop(r.fund_balance - r.total),
    'recipients_count', r.nrecipients, 'weighting', r.weighting,
    'digest', r.digest, 'digest_version', 'DUX-AIRDROP-ROUND-1',
    'approvals_required', r.required,
    'approvals_count', (SELECT count(*) FROM approvals a WHERE a.round_id = r.id),
    'eligible_nodes', r.eligible, 'dropped_dust', r.dropped_dust, 'reason', r.reason,
    'payout', r.payout,
    'created_at', utc_text(r.created_at), 'expires_at', utc_text(r.expires_at),
    'approved_at', utc_text(r.approved_at), 'executed_at', utc_text(r.executed_at))
 || CASE WHEN with_all THEN jsonb_build_object(
    'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object('position', x.position,
        'node_id', x.node_id, 'address', x.address, 'weight', x.weight,
        'amount', flop(x.amount)) ORDER BY x.position), '[]'::jsonb)
        FROM recipients x WHERE x.round_id = r.id),
    'approvals', (SELECT coalesce(jsonb_agg(jsonb_build_object('approver', p.approver,
        'signature', p.signature, 'at', utc_text(p.at)) ORDER BY p.at, p.approver), '[]'::jsonb)
        FROM approvals p WHERE p.round_id = r.id))
    ELSE '{}'::jsonb END
$$;
