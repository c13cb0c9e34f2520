-- Credits not yet added to their account's balance column.
--
-- A batch on the fast path (apply_fast in R_ledger.sql) locks only the accounts it debits and
-- appends what it credits here; the item-by-item path appends a credit here when another
-- transaction holds the credited account (credit_to). So batches paying the same accounts (a
-- popular provider, the community fund, any receiver) do not queue on those rows. Whoever
-- locks an account folds its rows into balance in the same transaction (fold_locked): every
-- debit does, and the folding job (fold_credits) does for accounts that are only paid. So:
--   what an account may spend = balance + its rows here
--   sum(balance + held) + sum(credits.amount) = entered - left
CREATE TABLE credits (
    account text NOT NULL,  -- an address of accounts (checked by the writer; never deleted)
    amount  bigint NOT NULL CHECK (amount > 0)
);
CREATE INDEX credits_account ON credits (account);
