-- Escrows: a user's payment for an API call, held in the wallet until the work is validated.
--
-- The money never sits in this database: it is two pending transfers in the wallet, from the
-- user to the provider (provider_share) and to a community-fund shard (community_share), under
-- ids derived from the escrow id (escrow:<id>:hold:p and :hold:f). Releasing posts them,
-- refunding voids them, a split posts parts of them. Every step is first recorded here as an
-- intent (releasing, refunding, resolving), then done in the wallet with idempotent ids, then
-- recorded as done; the recovery job finishes intents left by a crash.
CREATE TABLE escrows (
    id              text PRIMARY KEY CHECK (length(id) = 36),  -- esc_ + 32 hex, by the daemon
    api_id          text NOT NULL CHECK (length(api_id) BETWEEN 1 AND 128),
    user_wallet     text NOT NULL,
    provider_wallet text NOT NULL,
    owner           text NOT NULL,           -- the token subject that created it
    amount          bigint NOT NULL CHECK (amount > 0),
    community_bps   integer NOT NULL CHECK (community_bps BETWEEN 0 AND 10000),
    community_share bigint NOT NULL CHECK (community_share >= 0),
    provider_share  bigint NOT NULL CHECK (provider_share >= 0),
    fund_account    text NOT NULL,           -- the fund shard its community share goes to
    task_id         text,
    status          text NOT NULL CHECK (status IN ('creating', 'held', 'releasing', 'released',
                        'refunding', 'refunded', 'disputed', 'resolving', 'resolved', 'failed')),
    reason          text,                    -- of a final state, machine-readable
    result_hash     text CHECK (length(result_hash) = 64),  -- SHA-256 hex, checked by the daemon
    -- of a release or split: what the provider and the fund were paid
    paid_provider   bigint NOT NULL DEFAULT 0 CHECK (paid_provider >= 0),
    paid_community  bigint NOT NULL DEFAULT 0 CHECK (paid_community >= 0),
    dispute_reason  text,
    disputed_at     timestamptz,
    resolution      text CHECK (resolution IN ('refund', 'release', 'split')),
    split_amount    bigint CHECK (split_amount >= 0),  -- of a split: the part released
    resolved_by     text,
    idem_key        text,
    timeout_s       bigint NOT NULL CHECK (timeout_s > 0),  -- as asked at create
    timeout_at      timestamptz NOT NULL,
    -- failed create_unconfirmed: when to look again for a hold that reached the wallet late
    late_check_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CHECK (community_share + provider_share = amount),
    CHECK (paid_provider + paid_community <= amount)
);
CREATE UNIQUE INDEX escrows_owner_idem ON escrows (owner, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX escrows_user ON escrows (user_wallet, id);
CREATE INDEX escrows_provider ON escrows (provider_wallet, id);
CREATE INDEX escrows_api ON escrows (api_id, id);
CREATE INDEX escrows_status ON escrows (status, id);
CREATE INDEX escrows_due ON escrows (timeout_at) WHERE status = 'held';
CREATE INDEX escrows_late ON escrows (late_check_at) WHERE late_check_at IS NOT NULL;
CREATE INDEX escrows_unfinished ON escrows (updated_at)
    WHERE status IN ('creating', 'releasing', 'refunding', 'resolving');
-- community-fund inflow history, newest first
CREATE INDEX escrows_inflow ON escrows (finished_at DESC, id) WHERE paid_community > 0;

-- The community fund: shard accounts in the wallet (owned by this daemon), summed on read, so
-- that concurrent releases credit different rows instead of queuing on one.
CREATE TABLE fund_shards (
    shard   integer PRIMARY KEY CHECK (shard >= 0),
    address text NOT NULL UNIQUE
);

-- The last fund balance announced in a fund.balance event.
CREATE TABLE fund_state (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    balance    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The audit log: financial actions are queued in the transaction that makes them, then one
-- writer (the chainer job) links them in order into the hash chain and signs each entry, so
-- requests never wait for one another on the chain's head.
CREATE TABLE audit_queue (
    id         bigserial PRIMARY KEY,
    action     text NOT NULL,
    escrow_id  text,
    actor      text NOT NULL,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    action     text NOT NULL,
    escrow_id  text,
    actor      text NOT NULL,
    data       text NOT NULL,     -- the JSON text exactly as hashed
    created_at text NOT NULL,     -- RFC 3339 UTC text, as hashed
    prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash       text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    signature  text NOT NULL   -- base64url Ed25519 signature of hash
);
CREATE INDEX audit_escrow ON audit_log (escrow_id, seq) WHERE escrow_id IS NOT NULL;

CREATE FUNCTION escrow_json(e escrows) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'id', e.id, 'api_id', e.api_id, 'user_wallet', e.user_wallet,
    'provider_wallet', e.provider_wallet, 'amount', flop(e.amount),
    'provider_share', flop(e.provider_share), 'community_share', flop(e.community_share),
    'community_bps', e.community_bps, 'fund_account', e.fund_account, 'task_id', e.task_id,
    'status', e.status, 'reason', e.reason, 'result_hash', e.result_hash,
    'paid', json_build_object('provider', flop(e.paid_provider),
                              'community', flop(e.paid_community),
                              'refunded', flop(CASE WHEN e.status IN ('released', 'refunded',
                                  'resolved') THEN e.amount - e.paid_provider - e.paid_community
                                  ELSE 0 END)),
    'dispute', CASE WHEN e.disputed_at IS NULL THEN NULL ELSE json_build_object(
        'reason', e.dispute_reason, 'at', utc_text(e.disputed_at), 'resolution', e.resolution,
        'split_amount', flop(e.split_amount), 'resolved_by', e.resolved_by) END,
    'owner', e.owner, 'timeout', e.timeout_s, 'timeout_at', utc_text(e.timeout_at),
    'created_at', utc_text(e.created_at), 'updated_at', utc_text(e.updated_at),
    'finished_at', utc_text(e.finished_at))
$$;
