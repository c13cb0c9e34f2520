-- Text forms every daemon's SQL renders its JSON with. (OR REPLACE: schemas made before this
-- file existed had their own copies.)

-- FLOP text of base units, exact ("10.5", "0.00000001", "0").
CREATE OR REPLACE FUNCTION flop(units bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT trim_scale(units::numeric / 100000000)::text $$;

-- RFC 3339 UTC with milliseconds, as dux_time_format writes it. STABLE as its body (to_char),
-- so that it is inlined into the JSON it is part of.
CREATE OR REPLACE FUNCTION utc_text(t timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
