-- The JSON of tasks and attempts, as GET /v1/tasks/{id} answers and events carry them. Times
-- are RFC 3339 UTC with milliseconds.
CREATE OR REPLACE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION attempt_json(a attempts, detailed boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'node_id', a.node_id, 'wallet_address', a.wallet, 'state', a.state,
        'verdict', a.verdict, 'reason', a.reason, 'detail', a.detail, 'exit_code', a.exit_code,
        'output_sha256', a.output_sha256, 'usage', a.usage, 'started_at', ts(a.started_at),
        'finished_at', ts(a.finished_at), 'offered_at', ts(a.created_at))
        || CASE WHEN detailed THEN jsonb_build_object('output_valid', a.output_valid,
               'stdout_truncated', a.stdout_truncated, 'stderr_truncated', a.stderr_truncated)
           ELSE '{}'::jsonb END
$$;

-- detailed: with input, output and the output format (the API); events leave them out.
-- PL/pgSQL rather than SQL: a SQL function holding an aggregate is not inlined, so it would be
-- parsed and planned at every call; PL/pgSQL keeps its plan for the session.
CREATE OR REPLACE FUNCTION task_json(t tasks, detailed boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    usage jsonb;
    list jsonb;
BEGIN
    SELECT jsonb_build_object(
               'cpu_user_us', coalesce(sum((a.usage->>'cpu_user_us')::bigint), 0),
               'cpu_sys_us', coalesce(sum((a.usage->>'cpu_sys_us')::bigint), 0),
               'peak_memory_bytes', coalesce(max((a.usage->>'peak_memory_bytes')::bigint), 0),
               'wall_us', coalesce(sum((a.usage->>'wall_us')::bigint), 0)),
           coalesce(jsonb_agg(attempt_json(a, detailed) ORDER BY a.created_at, a.id),
                    '[]'::jsonb)
      INTO usage, list
      FROM attempts a WHERE a.task_id = t.id;
    RETURN jsonb_build_object(
        'id', t.id, 'kind', t.kind, 'owner', t.owner, 'service_id', t.service_id,
        'runtime', t.runtime, 'code_sha256', t.code_sha256,
        'resources', jsonb_build_object('memory_limit', t.memory_limit,
            'cpu_limit', t.cpu_limit, 'timeout', t.timeout_s, 'network_access', t.network),
        'replicas', t.replicas, 'escrow_id', t.escrow_id, 'state', t.state,
        'reason', t.reason, 'detail', t.detail, 'result_hash', t.result_hash,
        'usage', usage, 'attempts', list,
        'created_at', ts(t.created_at), 'started_at', ts(t.started_at),
        'finished_at', ts(t.finished_at), 'updated_at', ts(t.updated_at))
        || CASE WHEN detailed THEN jsonb_build_object('input', t.input, 'output', t.output,
               'output_format', t.output_format, 'replicas_asked', t.replicas_asked,
               'payment', CASE WHEN t.escrow_id IS NULL THEN NULL ELSE
                   jsonb_build_object('escrow_id', t.escrow_id, 'settle', t.settle,
                                      'note', t.settle_note) END)
           ELSE '{}'::jsonb END;
END
$$;
