-- The ledger: double-entry accounts with two-phase transfers (DESIGN section 5).
--
-- balance is what an account may spend; held is what its pending debits reserve. Money enters
-- only by transfers whose debit is NULL (deposits, the development faucet) and leaves only by
-- transfers whose credit is NULL (withdrawals), so at every commit:
--   sum(balance + held) = entered - left          (GET /v1/ledger/check recomputes it)

-- Small settings of this ledger: the key-encryption salt and check value, the chain cursor.
CREATE TABLE meta (
    k text PRIMARY KEY,
    v text NOT NULL
);

CREATE TABLE accounts (
    -- the daemon checks Base58Check and the network before any row is written: the table only
    -- bounds the length (a regular expression per row costs more than it guards)
    address    text PRIMARY KEY CHECK (length(address) BETWEEN 25 AND 40),
    owner      text NOT NULL CHECK (length(owner) BETWEEN 1 AND 127),
    balance    bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    held       bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    -- 'generated': its secp256k1 key is kept below (chain: none);
    -- 'node': the key lives in Flopcoin Core's wallet (chain: flopcoind)
    origin     text NOT NULL CHECK (origin IN ('generated', 'node')),
    key_box    bytea,  -- the private key (PEM), sealed when wallet.encryption is on
    key_sealed boolean NOT NULL DEFAULT false,
    idem_key   text,   -- the Idempotency-Key that created it
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_owner ON accounts (owner, created_at, address);
CREATE UNIQUE INDEX accounts_owner_idem ON accounts (owner, idem_key) WHERE idem_key IS NOT NULL;

CREATE TABLE transfers (
    seq           bigserial NOT NULL,  -- order for history pages (unique by its sequence)
    id            text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),  -- form: the daemon
    kind          text NOT NULL
                  CHECK (kind IN ('transfer', 'deposit', 'faucet', 'withdrawal')),
    mode          text NOT NULL CHECK (mode IN ('immediate', 'pending', 'post', 'void')),
    -- Accounts are never deleted, and apply_transfers checks that every account and pending
    -- transfer it names exists: no foreign keys, whose row triggers would cost more than the
    -- rest of a transfer.
    debit         text,  -- NULL: money entering the ledger
    credit        text,  -- NULL: money leaving it
    amount        bigint NOT NULL CHECK (amount > 0),
    pending_id    text,  -- what a post or void resolves
    -- immediate, post: posted; void: voided;
    -- pending: pending, then posted, voided or expired (voided at its timeout)
    state         text NOT NULL CHECK (state IN ('posted', 'pending', 'voided', 'expired')),
    posted_amount bigint CHECK (posted_amount > 0),  -- of a posted pending transfer
    expires_at    timestamptz,
    actor         text NOT NULL,
    memo          text NOT NULL DEFAULT '' CHECK (length(memo) <= 256),
    created_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    CHECK (debit IS DISTINCT FROM credit),
    -- money crosses the edge of the ledger only as a deposit, a faucet credit or a withdrawal
    CHECK (CASE kind WHEN 'transfer' THEN debit IS NOT NULL AND credit IS NOT NULL
                     WHEN 'withdrawal' THEN debit IS NOT NULL AND credit IS NULL
                     ELSE debit IS NULL AND credit IS NOT NULL END),
    CHECK ((mode IN ('post', 'void')) = (pending_id IS NOT NULL))
);
CREATE INDEX transfers_debit ON transfers (debit, seq) WHERE debit IS NOT NULL;
CREATE INDEX transfers_credit ON transfers (credit, seq) WHERE credit IS NOT NULL;
CREATE INDEX transfers_resolving ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_expiring ON transfers (expires_at)
    WHERE state = 'pending' AND expires_at IS NOT NULL;

-- Withdrawals to the chain (chain: flopcoind). The hold is the pending transfer of the same id;
-- 'sending' is written before sendtoaddress is called, so a crash leaves a row that recovery
-- resolves by looking for the send's comment (the id) in the node's wallet, never by resending.
CREATE TABLE withdrawals (
    id          text PRIMARY KEY REFERENCES transfers,
    account     text NOT NULL REFERENCES accounts,
    address     text NOT NULL,
    amount      bigint NOT NULL CHECK (amount > 0),
    state       text NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    txid        text,
    fee         bigint CHECK (fee >= 0),
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX withdrawals_sending ON withdrawals (updated_at) WHERE state = 'sending';
