-- copilot-audit schema, part 2: the auditor's side.
-- One schema for PostgreSQL (pg) and PGlite. Applied by @copilot-audit/store's runner, one transaction per file.
--
--   * retention_runs: the signed-off record of each retention run (who, what range, how many rows, the chain
--     heads it saw), a hash-chained, append-only audit row like the others. Its chain also holds the
--     chain_gaps declarations that let `verify` pass over the rows the run dropped.
--   * copilot_audit_create_month_partitions(month): the monthly partitions of one given month, created exactly
--     as copilot_audit_ensure_partitions creates the current ones (for backfills and tests of retention).
--   * audit_* views: the stable, documented columns auditors query (docs/auditing.md). Columns are only ever
--     added to these views, never renamed or removed.
--   * copilot_audit_reader: a read-only role granted the views only (not the raw tables).

CREATE TABLE retention_runs (
  id              uuid        NOT NULL,
  run_at          timestamptz NOT NULL,
  signed_off_by   text        NOT NULL,
  host            text        NOT NULL,
  older_than      text        NOT NULL,
  horizon         timestamptz NOT NULL,
  range_from      timestamptz NOT NULL,
  range_to        timestamptz NOT NULL,
  partitions      text[]      NOT NULL,
  rows_removed    bigint      NOT NULL,
  rows_by_table   jsonb       NOT NULL,
  gaps_declared   integer     NOT NULL,
  rows_verified   bigint      NOT NULL,
  chain_heads     jsonb       NOT NULL,
  kept_in_default bigint      NOT NULL,
  reason          text,
  chain_id        uuid        NOT NULL,
  seq             bigint      NOT NULL,
  prev_hash       text        NOT NULL,
  hash            text        NOT NULL,
  PRIMARY KEY (chain_id, seq)
);
SELECT copilot_audit_protect('retention_runs', true);

-- The monthly partitions (UTC) of every partitioned audit table for the month that contains `month`, each with
-- its TRUNCATE trigger; the same DDL and lock as copilot_audit_ensure_partitions. Idempotent. A month whose
-- rows already sit in the DEFAULT partition is skipped with a WARNING. Returns the number created.
CREATE FUNCTION copilot_audit_create_month_partitions(month date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  parent  text;
  m_start timestamp := date_trunc('month', month::timestamp);
  part    text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7220577213570101);
  FOREACH parent IN ARRAY ARRAY['sessions', 'session_ends', 'exchanges', 'exchange_responses', 'findings'] LOOP
    part := parent || '_' || to_char(m_start, 'YYYY_MM');
    CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
    BEGIN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, parent,
                     to_char(m_start, 'YYYY-MM-DD') || ' 00:00:00+00',
                     to_char(m_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
      PERFORM copilot_audit_protect(quote_ident(part)::regclass, false);
      created := created + 1;
    EXCEPTION WHEN check_violation THEN
      RAISE WARNING 'copilot-audit: partition % not created: its rows are already in the default partition', part;
    END;
  END LOOP;
  RETURN created;
END
$$;

-- Time-ordered reads (sessions tail, sessions list, a report over a few days of a month): the time column is the
-- last of the primary keys, so without these every such read scans whole partitions. Cascades to every partition.
CREATE INDEX exchanges_requested_at_idx ON exchanges (requested_at);
CREATE INDEX sessions_opened_at_idx ON sessions (opened_at);

-- One row per intercepted request, with its response (if any), who sent it and how many secrets it held.
-- A response row may be missing (exchange still running, or cut by a crash before recovery marked it).
CREATE VIEW audit_exchanges AS
SELECT
  e.id                         AS exchange_id,
  e.session_id,
  e.session_seq,
  e.requested_at,
  r.responded_at,
  r.ended_at,
  e.identity_issuer            AS user_issuer,
  e.identity_subject           AS user_subject,
  e.identity_email             AS user_email,
  e.identity_groups            AS user_groups,
  e.identity_token_fingerprint AS user_token_fingerprint,
  s.client_address,
  e.method,
  e.scheme,
  e.host,
  e.port,
  e.path,
  e.endpoint_kind,
  e.model,
  e.client_request_id,
  e.prompt_text,
  r.completion_text,
  r.status,
  r.outcome,
  r.error_code,
  r.error_details,
  r.ttfb_ms,
  r.duration_ms,
  coalesce(f.request_findings, 0)  AS request_findings,
  coalesce(f.response_findings, 0) AS response_findings,
  coalesce(f.findings, 0)          AS findings_count,
  coalesce(f.exposed, 0)           AS findings_exposed,
  e.headers                    AS request_headers,
  e.body_text                  AS request_body,
  e.body_bytes IS NOT NULL     AS request_body_binary,
  e.body_size                  AS request_body_size,
  e.body_sha256                AS request_body_sha256,
  e.body_truncated             AS request_body_truncated,
  r.headers                    AS response_headers,
  r.body_text                  AS response_body,
  r.body_bytes IS NOT NULL     AS response_body_binary,
  r.body_size                  AS response_body_size,
  r.body_sha256                AS response_body_sha256,
  r.body_truncated             AS response_body_truncated,
  e.chain_id,
  e.seq
FROM exchanges e
-- A plain join, so the planner may hash it for long ranges. An exchange has one response row; the only way to
-- get two is a crash recovery's 'incomplete' plus the real one arriving later from a spool: the real one wins.
LEFT JOIN exchange_responses r
  ON r.exchange_id = e.id
 AND (r.outcome <> 'incomplete'
      OR NOT EXISTS (SELECT 1 FROM exchange_responses r2 WHERE r2.exchange_id = r.exchange_id AND r2.outcome <> 'incomplete'))
-- Aggregates (one row each): the planner drops these joins when their columns are not selected.
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE y.direction = 'request')  AS request_findings,
         count(*) FILTER (WHERE y.direction = 'response') AS response_findings,
         count(*)                                         AS findings,
         count(*) FILTER (WHERE y.action = 'reported')    AS exposed
  FROM findings y
  WHERE y.exchange_id = e.id
) f ON true
LEFT JOIN LATERAL (
  SELECT min(z.client_address) AS client_address FROM sessions z WHERE z.id = e.session_id
) s ON true;

-- One row per client connection (intercepted, tunnelled or refused), its open and close joined.
CREATE VIEW audit_sessions AS
SELECT
  s.id                         AS session_id,
  s.opened_at,
  c.closed_at,
  (extract(epoch FROM c.closed_at - s.opened_at) * 1000)::bigint AS duration_ms,
  s.mode,
  s.client_address,
  s.client_port,
  s.target_host,
  s.target_port,
  s.sni,
  s.refusal_status,
  s.refusal_code,
  s.refusal_details,
  s.identity_issuer            AS user_issuer,
  s.identity_subject           AS user_subject,
  s.identity_email             AS user_email,
  s.identity_groups            AS user_groups,
  s.identity_token_fingerprint AS user_token_fingerprint,
  c.bytes_from_client,
  c.bytes_to_client,
  c.close_reason,
  c.exchange_count,
  s.chain_id,
  s.seq
FROM sessions s
-- One end row per session; as for responses, a crash recovery's 'gateway_restart' end yields to a real one.
LEFT JOIN session_ends c
  ON c.session_id = s.id
 AND (c.close_reason <> 'gateway_restart'
      OR NOT EXISTS (SELECT 1 FROM session_ends c2 WHERE c2.session_id = c.session_id AND c2.close_reason <> 'gateway_restart'));

-- One row per secret found in a request or a response, with the exchange it was found in and who sent it.
-- Never the secret itself: `fingerprint` is its keyed HMAC (see `copilot-audit report exposure`).
CREATE VIEW audit_findings AS
SELECT
  f.exchange_id,
  e.session_id,
  f.recorded_at,
  e.requested_at,
  f.direction,
  f.rule_id,
  f.location,
  f."offset"                   AS secret_offset,
  f.length                     AS secret_length,
  f.fingerprint,
  f.action,
  f.action = 'reported'        AS exposed,
  e.identity_issuer            AS user_issuer,
  e.identity_subject           AS user_subject,
  e.identity_email             AS user_email,
  e.method,
  e.host,
  e.path,
  e.endpoint_kind,
  e.model,
  e.client_request_id,
  f.chain_id,
  f.seq
FROM findings f
LEFT JOIN exchanges e ON e.id = f.exchange_id;

-- Per user and UTC day: how much they used Copilot, and what it saw.
CREATE VIEW audit_daily_activity AS
SELECT
  (a.requested_at AT TIME ZONE 'UTC')::date                          AS day,
  a.user_issuer,
  a.user_subject,
  max(a.user_email)                                                 AS user_email,
  count(*)                                                          AS exchanges,
  count(DISTINCT a.session_id)                                      AS sessions,
  count(*) FILTER (WHERE a.endpoint_kind = 'completions')           AS completions,
  count(*) FILTER (WHERE a.endpoint_kind IN ('chat', 'responses', 'messages')) AS chats,
  count(*) FILTER (WHERE a.outcome = 'completed' AND a.status < 400) AS succeeded,
  count(*) FILTER (WHERE a.outcome = 'refused')                     AS refused,
  count(*) FILTER (WHERE a.outcome IS NULL OR a.outcome IN ('aborted', 'upstream_error', 'incomplete')
                      OR (a.outcome = 'completed' AND a.status >= 400)) AS failed,
  coalesce(sum(a.findings_count), 0)::bigint                        AS findings,
  coalesce(sum(a.findings_exposed), 0)::bigint                      AS findings_exposed,
  coalesce(sum(a.request_body_size), 0)::bigint                     AS request_bytes,
  coalesce(sum(a.response_body_size), 0)::bigint                    AS response_bytes,
  min(a.requested_at)                                               AS first_request_at,
  max(a.requested_at)                                               AS last_request_at,
  coalesce(array_agg(DISTINCT a.model) FILTER (WHERE a.model IS NOT NULL), '{}')               AS models,
  coalesce(array_agg(DISTINCT a.client_address) FILTER (WHERE a.client_address IS NOT NULL), '{}') AS client_addresses
FROM audit_exchanges a
GROUP BY 1, 2, 3;

-- Every hash-chained row, whatever its table: to check in SQL that a chain's seqs are contiguous and each
-- prev_hash links to the previous hash (`copilot-audit verify` also recomputes every hash from the content).
CREATE VIEW audit_chain_rows AS
SELECT chain_id, seq, 'chains'::text AS table_name, started_at AS at, prev_hash, hash FROM chains
UNION ALL SELECT chain_id, seq, 'sessions', opened_at, prev_hash, hash FROM sessions
UNION ALL SELECT chain_id, seq, 'exchanges', requested_at, prev_hash, hash FROM exchanges
UNION ALL SELECT chain_id, seq, 'findings', recorded_at, prev_hash, hash FROM findings
UNION ALL SELECT chain_id, seq, 'exchange_responses', ended_at, prev_hash, hash FROM exchange_responses
UNION ALL SELECT chain_id, seq, 'session_ends', closed_at, prev_hash, hash FROM session_ends
UNION ALL SELECT chain_id, seq, 'chain_closes', closed_at, prev_hash, hash FROM chain_closes
UNION ALL SELECT chain_id, seq, 'chain_gaps', declared_at, prev_hash, hash FROM chain_gaps
UNION ALL SELECT chain_id, seq, 'retention_runs', run_at, prev_hash, hash FROM retention_runs;

-- Every writer chain: who wrote it, when it started, and how it ended (clean close, recovered, or still open).
CREATE VIEW audit_chains AS
SELECT
  c.chain_id,
  c.writer_name,
  c.host,
  c.pid,
  c.started_at,
  x.closed_at,
  x.reason   AS close_reason,
  x.last_seq,
  x.last_hash
FROM chains c
LEFT JOIN LATERAL (
  SELECT y.closed_at, y.reason, y.last_seq, y.last_hash
  FROM chain_closes y
  WHERE y.closed_chain_id = c.chain_id
  ORDER BY y.reason
  LIMIT 1
) x ON true;

-- Declared removals: which seq range of which chain a retention run dropped.
CREATE VIEW audit_chain_gaps AS
SELECT gap_chain_id, from_seq, to_seq, last_hash, reason, declared_at, chain_id AS declared_by_chain_id,
       seq AS declared_by_seq
FROM chain_gaps;

-- Retention runs: who dropped which months, how many rows, and the chain heads verified just before.
CREATE VIEW audit_retention_runs AS
SELECT id AS run_id, run_at, signed_off_by, host, older_than, horizon, range_from, range_to, partitions,
       rows_removed, rows_by_table, gaps_declared, rows_verified, chain_heads, kept_in_default, reason,
       chain_id, seq
FROM retention_runs;

-- The read-only role for auditors: the views only. Roles are cluster-global: created when missing, tolerant of
-- a concurrent creation (another database's migration) and, with a NOTICE, of a migrating user without
-- CREATEROLE. PGlite runs as a superuser in a private cluster: the role is created there too (and harmless).
DO $$
BEGIN
  CREATE ROLE copilot_audit_reader NOLOGIN;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL;
  WHEN insufficient_privilege THEN
    RAISE NOTICE 'copilot-audit: role copilot_audit_reader not created (no CREATEROLE privilege)';
END
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'copilot_audit_reader') THEN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO copilot_audit_reader', current_schema());
    GRANT SELECT ON audit_exchanges, audit_sessions, audit_findings, audit_daily_activity, audit_chain_rows,
      audit_chains, audit_chain_gaps, audit_retention_runs, exchange_log TO copilot_audit_reader;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'copilot_audit_auditor') THEN
    GRANT SELECT ON retention_runs, audit_exchanges, audit_sessions, audit_findings, audit_daily_activity,
      audit_chain_rows, audit_chains, audit_chain_gaps, audit_retention_runs TO copilot_audit_auditor;
  END IF;
END
$$;
