-- The ledger's functions: a repeatable migration, applied again whenever this text changes
-- (CREATE OR REPLACE only; a changed signature needs a DROP in a numbered migration first).

-- A transfer as the API shows it.
CREATE OR REPLACE FUNCTION transfer_json(t transfers) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'id', t.id, 'seq', t.seq, 'kind', t.kind, 'mode', t.mode,
    'debit', t.debit, 'credit', t.credit, 'amount', flop(t.amount),
    'pending_id', t.pending_id, 'state', t.state, 'posted_amount', flop(t.posted_amount),
    'expires_at', utc_text(t.expires_at), 'actor', t.actor, 'memo', t.memo,
    'created_at', utc_text(t.created_at), 'resolved_at', utc_text(t.resolved_at))
$$;

-- What an account has beyond its balance column: its credits not folded yet (003_credits.sql).
CREATE OR REPLACE FUNCTION unfolded(p_address text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(sum(amount), 0)::bigint FROM credits WHERE account = p_address $$;

-- Folds the credits of accounts the caller has locked (FOR UPDATE) into their balances. A
-- concurrent batch's credits, not yet committed, stay for the next fold.
CREATE OR REPLACE FUNCTION fold_locked(p_addrs text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH d AS (DELETE FROM credits WHERE account = ANY (p_addrs) RETURNING account, amount)
    UPDATE accounts ac SET balance = ac.balance + s.total
    FROM (SELECT account, sum(amount) AS total FROM d GROUP BY account) s
    WHERE ac.address = s.account;
END $$;

-- The folding job: up to p_limit accounts with credits, skipping those another transaction
-- holds (it folds them itself, or the next round does). Returns how many were folded.
CREATE OR REPLACE FUNCTION fold_credits(p_limit int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_addrs text[];
BEGIN
    SELECT array_agg(address) INTO v_addrs FROM (
        SELECT address FROM accounts
        WHERE address IN (SELECT DISTINCT account FROM credits LIMIT p_limit)
        ORDER BY address FOR UPDATE SKIP LOCKED) s;
    IF v_addrs IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM fold_locked(v_addrs);
    RETURN cardinality(v_addrs);
END $$;

-- A credit inside apply_transfers: made in place when the batch holds the account's lock or
-- can take it without waiting; appended to credits when another transaction holds it, so that
-- nobody waits for an account it only pays. (The lock taken here never waits, so it cannot
-- deadlock; it is held to the commit, as a debit's would be.)
CREATE OR REPLACE FUNCTION credit_to(p_account text, p_amount bigint, p_locked text[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT p_account = ANY (p_locked) THEN
        PERFORM 1 FROM accounts WHERE address = p_account FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            INSERT INTO credits (account, amount) VALUES (p_account, p_amount);
            RETURN;
        END IF;
    END IF;
    UPDATE accounts SET balance = balance + p_amount WHERE address = p_account;
END $$;

-- An account as the API shows it: balance counts its credits not folded yet.
CREATE OR REPLACE FUNCTION account_json(a accounts) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'address', a.address, 'owner', a.owner, 'balance', flop(a.balance + unfolded(a.address)),
    'held', flop(a.held),
    'origin', a.origin, 'created_at', utc_text(a.created_at))
$$;

-- A batch result: the transfer with "existed" (true: applied by an earlier request) first.
CREATE OR REPLACE FUNCTION with_existed(j json, existed boolean) RETURNS json
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ('{"existed":' || existed || ',' || substr(j::text, 2))::json $$;

-- A withdrawal as the API and its events show it.
CREATE OR REPLACE FUNCTION withdrawal_json(w withdrawals) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT json_build_object(
    'id', w.id, 'account', w.account, 'address', w.address, 'amount', flop(w.amount),
    'state', w.state, 'txid', w.txid, 'fee', flop(w.fee), 'reason', w.reason,
    'created_at', utc_text(w.created_at), 'updated_at', utc_text(w.updated_at))
$$;

-- apply_transfers: one batch of transfers, all or none, in one round trip.
--
-- p_batch: a JSON array of items {id, mode, kind, debit, credit, amount (base units, or null
--   for "the whole pending amount" on a post), pending_id, timeout (seconds), memo, expire}.
--   The daemon has validated each field's form; this function enforces the ledger's rules.
--   kind (default transfer) is set only by the daemon: a deposit or faucet credit has no debit,
--   a withdrawal no credit.
-- p_actor: who asks (a token's subject); recorded on every transfer.
-- p_principals: the owners whose accounts the caller may debit.
-- p_system: the daemon itself (faucet, deposits, timeouts, settling withdrawals): may bring
--   money in, debit any account and resolve any pending transfer.
-- p_fast: a batch of 8 or more plain immediate transfers may take the fast path (apply_fast);
--   false when it is run again after DX002.
--
-- Returns one JSON transfer per item, with "existed": true when its id had been applied before
-- with the same fields (nothing moved again). A refused item raises SQLSTATE DX001 with the
-- message 'dux:<item index>:<problem code>:<detail>' and the whole batch rolls back.
--
-- Deadlocks are avoided by locking, in address order and before anything else, every account
-- the batch debits (directly or through the pending transfers it resolves) and the credited
-- account of an item without a debit (money entering); their credits are folded then, so that
-- every balance read is whole. An account only credited is never waited for (credit_to).
-- Every item locks at least one account, the same for a retry of its id, so concurrent
-- retries of one id queue on those locks and then see the first attempt's row. (The fast path
-- locks last; its rare deadlock with a retry of the same ids on the other path is broken by
-- PostgreSQL and run again by the daemon.)
CREATE OR REPLACE FUNCTION refuse(n bigint, code text, detail text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'DX001', MESSAGE = format('dux:%s:%s:%s', n, code, detail);
END $$;

-- The fast path: a batch of immediate transfers between existing accounts, with new ids, in
-- which every debited account can pay all its debits from its balance as it stands, applies
-- the same whichever order its items take: so it is applied set-wise, three statements for the
-- whole batch instead of several per item. Any other batch takes the item-by-item path.
CREATE OR REPLACE FUNCTION fast_batch_fits(p_batch jsonb, p_principals text[], p_system boolean)
RETURNS boolean
LANGUAGE plpgsql STABLE  -- plpgsql keeps its plans; a SQL function would be planned each call
AS $$
DECLARE
    fits boolean;
BEGIN
    WITH it AS (
        SELECT * FROM jsonb_to_recordset(p_batch)
            AS x(id text, mode text, kind text, debit text, credit text, amount bigint))
    SELECT bool_and(mode = 'immediate' AND coalesce(kind, 'transfer') = 'transfer'
                    AND debit IS NOT NULL AND credit IS NOT NULL)
       AND count(DISTINCT id) = count(*)
       AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id IN (SELECT id FROM it))
       AND NOT EXISTS (
           SELECT 1 FROM (SELECT debit AS a, sum(amount) AS s FROM it GROUP BY debit) d
           LEFT JOIN accounts ac ON ac.address = d.a
           WHERE ac.address IS NULL OR ac.balance + unfolded(ac.address) < d.s
              OR NOT (p_system OR ac.owner = ANY (p_principals)))
       AND NOT EXISTS (
           SELECT 1 FROM (SELECT credit AS a, sum(amount) AS s FROM it GROUP BY credit) c
           LEFT JOIN accounts ac ON ac.address = c.a
           WHERE ac.address IS NULL
              OR ac.balance + unfolded(ac.address) > 9223372036854775807 - c.s)
    INTO fits FROM it;
    RETURN fits;
END $$;

-- The rows are written first and the debited accounts locked last, so that concurrent batches
-- queue on their common accounts only for the debits and the commit; what the batch credits is
-- appended to credits, which takes no lock. Funds are checked again under the locks; a batch
-- that no longer fits raises DX002 and is run again on the item-by-item path.
CREATE OR REPLACE FUNCTION apply_fast(p_batch jsonb, p_actor text) RETURNS SETOF json
LANGUAGE plpgsql
AS $$
DECLARE
    v_addrs text[];
BEGIN
    RETURN QUERY
    WITH ins AS (
        INSERT INTO transfers (id, kind, mode, debit, credit, amount, state, actor, memo)
        SELECT x.id, 'transfer', 'immediate', x.debit, x.credit, x.amount, 'posted', p_actor,
               coalesce(x.memo, '')
        FROM ROWS FROM (jsonb_to_recordset(p_batch)
                 AS (id text, debit text, credit text, amount bigint, memo text))
             WITH ORDINALITY AS x(id, debit, credit, amount, memo, n)
        ORDER BY x.n
        RETURNING *),
    ev AS (
        INSERT INTO outbox (event_id, type, subject, data)
        SELECT replace(gen_random_uuid()::text, '-', ''), 'wallet.transfer.posted', ins.id,
               transfer_json(ins)::jsonb
        FROM ins ORDER BY ins.seq)
    SELECT with_existed(transfer_json(ins), false) FROM ins ORDER BY ins.seq;

    SELECT array_agg(DISTINCT x.debit) INTO v_addrs
    FROM jsonb_to_recordset(p_batch) AS x(debit text);
    PERFORM 1 FROM accounts WHERE address = ANY (v_addrs) ORDER BY address FOR UPDATE;
    PERFORM fold_locked(v_addrs);
    IF EXISTS (
        SELECT 1 FROM (SELECT x.debit AS a, sum(x.amount) AS s
                       FROM jsonb_to_recordset(p_batch) AS x(debit text, amount bigint)
                       GROUP BY x.debit) d
        JOIN accounts ac ON ac.address = d.a WHERE ac.balance < d.s) THEN
        RAISE EXCEPTION USING ERRCODE = 'DX002', MESSAGE = 'dux:0:fast-path-lost:';
    END IF;
    UPDATE accounts ac SET balance = ac.balance - d.total
    FROM (SELECT x.debit AS a, sum(x.amount) AS total
          FROM jsonb_to_recordset(p_batch) AS x(debit text, amount bigint)
          GROUP BY x.debit) d
    WHERE ac.address = d.a;
    INSERT INTO credits (account, amount)
    SELECT x.credit, sum(x.amount)
    FROM jsonb_to_recordset(p_batch) AS x(credit text, amount bigint)
    GROUP BY x.credit;
END $$;

CREATE OR REPLACE FUNCTION apply_transfers(p_batch jsonb, p_actor text, p_principals text[],
                                p_system boolean, p_fast boolean)
RETURNS SETOF json
LANGUAGE plpgsql AS $$
DECLARE
    it jsonb;
    n bigint;
    v_id text; v_mode text; v_kind text; v_debit text; v_credit text; v_pid text;
    v_amount bigint; v_memo text; v_timeout bigint;
    old transfers;
    p transfers;
    row transfers;
    acct accounts;
    v_state text;
    v_expire boolean;
    v_addrs text[];
    v_pids text[];
BEGIN
    IF p_fast AND jsonb_array_length(p_batch) >= 8
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_batch) e WHERE e ? 'pending_id')
       AND fast_batch_fits(p_batch, p_principals, p_system) THEN
        RETURN QUERY SELECT * FROM apply_fast(p_batch, p_actor);
        RETURN;
    END IF;
    -- what the items and the pending transfers they resolve debit, locked in order
    SELECT array_agg(DISTINCT coalesce(e->>'debit', e->>'credit')) INTO v_addrs
    FROM jsonb_array_elements(p_batch) e
    WHERE coalesce(e->>'debit', e->>'credit') IS NOT NULL;
    SELECT array_agg(e->>'pending_id') INTO v_pids FROM jsonb_array_elements(p_batch) e
    WHERE e ? 'pending_id';
    IF v_pids IS NOT NULL THEN
        SELECT v_addrs || array_agg(t.debit) INTO v_addrs
        FROM transfers t WHERE t.id = ANY (v_pids) AND t.debit IS NOT NULL;
    END IF;
    PERFORM 1 FROM accounts WHERE address = ANY (v_addrs) ORDER BY address FOR UPDATE;
    IF EXISTS (SELECT 1 FROM credits WHERE account = ANY (v_addrs)) THEN
        PERFORM fold_locked(v_addrs);
    END IF;

    FOR it, n IN SELECT e, i - 1 FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(e, i)
    LOOP
        v_id := it->>'id';
        v_mode := it->>'mode';
        v_kind := coalesce(it->>'kind', 'transfer');
        v_debit := it->>'debit';
        v_credit := it->>'credit';
        v_pid := it->>'pending_id';
        v_amount := (it->>'amount')::bigint;
        v_memo := coalesce(it->>'memo', '');
        v_timeout := (it->>'timeout')::bigint;
        -- a timeout void by the sweeper: skipped when the pending was resolved meanwhile
        v_expire := p_system AND coalesce((it->>'expire')::boolean, false);

        SELECT * INTO old FROM transfers WHERE id = v_id;
        IF FOUND THEN
            -- another caller's transfer is not shown, only that the id is taken
            IF NOT p_system AND old.actor <> p_actor THEN
                PERFORM refuse(n, 'id-reused', format('transfer id %s is taken', v_id));
            END IF;
            IF old.mode <> v_mode OR old.memo <> v_memo
               OR (v_mode IN ('post', 'void') AND old.pending_id IS DISTINCT FROM v_pid)
               OR (v_mode IN ('immediate', 'pending')
                   AND (old.kind <> v_kind OR old.debit IS DISTINCT FROM v_debit
                        OR old.credit IS DISTINCT FROM v_credit))
               OR (v_amount IS NOT NULL AND v_mode <> 'void' AND old.amount <> v_amount)
               -- a post without an amount asks for the whole pending amount
               OR (v_mode = 'post' AND v_amount IS NULL AND old.amount <>
                   (SELECT amount FROM transfers WHERE id = old.pending_id))
               OR (v_mode = 'pending' AND (old.expires_at IS NULL) <> (v_timeout IS NULL)) THEN
                PERFORM refuse(n, 'id-reused', format(
                    'transfer %s already exists with different fields', v_id));
            END IF;
            RETURN NEXT with_existed(transfer_json(old), true);
            CONTINUE;
        END IF;

        IF v_mode IN ('post', 'void') THEN
            SELECT * INTO p FROM transfers WHERE id = v_pid FOR UPDATE;
            IF v_expire AND (NOT FOUND OR p.state <> 'pending') THEN
                CONTINUE;
            END IF;
            IF NOT FOUND THEN
                PERFORM refuse(n, 'pending-not-found', format('no transfer %s', v_pid));
            ELSIF p.mode <> 'pending' THEN
                PERFORM refuse(n, 'not-pending', format('transfer %s is %s, not pending',
                                                        v_pid, p.mode));
            ELSIF p.state <> 'pending' THEN
                PERFORM refuse(n, 'pending-' || CASE p.state WHEN 'posted' THEN 'already-posted'
                    WHEN 'voided' THEN 'already-voided' ELSE 'expired' END,
                    format('pending transfer %s is already %s', v_pid, p.state));
            ELSIF NOT p_system AND p.actor <> p_actor THEN
                PERFORM refuse(n, 'not-owner', format(
                    'pending transfer %s was made by another caller; only it may %s it',
                    v_pid, v_mode));
            ELSIF p.expires_at <= now() AND NOT v_expire THEN
                PERFORM refuse(n, 'pending-expired', format(
                    'pending transfer %s timed out at %s', v_pid, utc_text(p.expires_at)));
            END IF;
            IF v_mode = 'void' THEN
                v_amount := p.amount;
                v_state := CASE WHEN v_expire THEN 'expired' ELSE 'voided' END;
                UPDATE accounts SET held = held - p.amount, balance = balance + p.amount
                 WHERE address = p.debit;
            ELSE
                v_amount := coalesce(v_amount, p.amount);
                IF v_amount > p.amount THEN
                    PERFORM refuse(n, 'amount-exceeds-pending', format(
                        'post of %s exceeds the pending %s', flop(v_amount), flop(p.amount)));
                END IF;
                v_state := 'posted';
                IF p.debit IS NOT NULL THEN
                    UPDATE accounts SET held = held - p.amount,
                                        balance = balance + (p.amount - v_amount)
                     WHERE address = p.debit;
                END IF;
                IF p.credit IS NOT NULL THEN
                    PERFORM credit_to(p.credit, v_amount, v_addrs);
                END IF;
            END IF;
            UPDATE transfers SET state = v_state, resolved_at = now(),
                   posted_amount = CASE WHEN v_state = 'posted' THEN v_amount END
             WHERE id = v_pid;
            INSERT INTO transfers (id, kind, mode, debit, credit, amount, pending_id, state,
                                   actor, memo)
            VALUES (v_id, p.kind, v_mode, p.debit, p.credit, v_amount, v_pid,
                    CASE v_mode WHEN 'void' THEN 'voided' ELSE 'posted' END, p_actor, v_memo)
            RETURNING * INTO row;
        ELSE
            -- only the daemon names a kind other than transfer, and only it brings money in
            IF (CASE v_kind WHEN 'transfer' THEN v_debit IS NULL OR v_credit IS NULL
                    WHEN 'withdrawal' THEN v_debit IS NULL OR v_credit IS NOT NULL
                    ELSE v_debit IS NOT NULL OR v_credit IS NULL OR NOT p_system END) THEN
                PERFORM refuse(n, 'invalid-field', format(
                    'debit and credit do not fit a %s', v_kind));
            END IF;
            IF v_debit IS NOT NULL THEN
                SELECT * INTO acct FROM accounts WHERE address = v_debit;
                IF NOT FOUND THEN
                    PERFORM refuse(n, 'account-not-found', format('no account %s', v_debit));
                ELSIF NOT p_system AND NOT (acct.owner = ANY (p_principals)) THEN
                    PERFORM refuse(n, 'not-owner', format(
                        'account %s belongs to another owner', v_debit));
                ELSIF acct.balance < v_amount THEN
                    PERFORM refuse(n, 'insufficient-funds', format(
                        'account %s has %s available, %s is needed',
                        v_debit, flop(acct.balance), flop(v_amount)));
                END IF;
                IF v_mode = 'pending' THEN
                    UPDATE accounts SET balance = balance - v_amount, held = held + v_amount
                     WHERE address = v_debit;
                ELSE
                    UPDATE accounts SET balance = balance - v_amount WHERE address = v_debit;
                END IF;
            ELSIF v_mode = 'pending' THEN
                PERFORM refuse(n, 'invalid-field', 'a pending transfer needs a debit account');
            END IF;
            IF v_credit IS NOT NULL THEN
                SELECT * INTO acct FROM accounts WHERE address = v_credit;
                IF NOT FOUND THEN
                    PERFORM refuse(n, 'account-not-found', format('no account %s', v_credit));
                ELSIF v_mode = 'immediate'
                      AND acct.balance + unfolded(v_credit) > 9223372036854775807 - v_amount THEN
                    PERFORM refuse(n, 'balance-overflow', format(
                        'account %s cannot hold more', v_credit));
                END IF;
                IF v_mode = 'immediate' THEN
                    PERFORM credit_to(v_credit, v_amount, v_addrs);
                END IF;
            END IF;
            INSERT INTO transfers (id, kind, mode, debit, credit, amount, state, expires_at,
                                   actor, memo)
            VALUES (v_id, v_kind, v_mode, v_debit, v_credit, v_amount,
                    CASE v_mode WHEN 'pending' THEN 'pending' ELSE 'posted' END,
                    CASE WHEN v_mode = 'pending' AND v_timeout IS NOT NULL
                         THEN now() + make_interval(secs => v_timeout) END,
                    p_actor, v_memo)
            RETURNING * INTO row;
        END IF;

        INSERT INTO outbox (event_id, type, subject, data)
        VALUES (replace(gen_random_uuid()::text, '-', ''),
                CASE WHEN row.kind = 'deposit' THEN 'wallet.deposit.confirmed'
                     WHEN row.mode = 'pending' THEN 'wallet.transfer.pending'
                     WHEN row.mode = 'void' THEN 'wallet.transfer.voided'
                     ELSE 'wallet.transfer.posted' END,
                row.id, transfer_json(row)::jsonb);
        RETURN NEXT with_existed(transfer_json(row), false);
    END LOOP;
END $$;
