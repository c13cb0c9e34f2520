-- Payouts from the community fund (POST /v1/community-fund/payouts), asked by the services in
-- escrow.fund_payers (the airdrop). One row per round id: its content's digest (the same round
-- id with other content is refused), the wallet plan once made (kept, so a retry sends the very
-- same transfers), and the answer once paid. One payout at a time: a second one waits until the
-- first is paid or failed (payouts_one_paying).
CREATE TABLE payouts (
    round_id   text PRIMARY KEY CHECK (round_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    digest     text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    payer      text NOT NULL,
    total      bigint NOT NULL CHECK (total > 0),
    recipients integer NOT NULL CHECK (recipients BETWEEN 1 AND 1000),
    status     text NOT NULL CHECK (status IN ('paying', 'paid', 'failed')),
    plan       jsonb,          -- the gather transfers into the payout shard (shard 0)
    gathered   bigint,         -- what they move
    answer     jsonb,          -- paid: the answer; failed: the problem
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payouts_one_paying ON payouts ((true)) WHERE status = 'paying';
