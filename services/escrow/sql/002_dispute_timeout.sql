-- Disputes nobody resolves within escrow.dispute_timeout are refunded by the recovery job
-- (reason refunded_dispute_timeout); it finds them by when they were disputed.
CREATE INDEX escrows_disputed ON escrows (disputed_at) WHERE status = 'disputed';
