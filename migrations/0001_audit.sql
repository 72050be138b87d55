-- copilot-audit schema, part 1: the audit record.
-- One schema for PostgreSQL (pg) and PGlite. Applied by @copilot-audit/store's runner, one transaction per file.
--
-- Design:
--   * Append-only. A request and its response are separate rows (exchanges / exchange_responses), so are a
--     session's open and close (sessions / session_ends). Triggers refuse UPDATE, DELETE and TRUNCATE.
--   * Hash-chained. Every audit row carries chain_id, seq, prev_hash, hash. One chain per writer instance,
--     across all tables; the chain's genesis (seq 0) is its row in `chains`.
--   * Partitioned by month on the row's own timestamp (the primary key includes it); a DEFAULT partition
--     catches anything outside the created months. Retention is DETACH/DROP PARTITION, never DELETE.

-- Refuses any change to an audit row. Used by row triggers (UPDATE, DELETE) and statement triggers (TRUNCATE).
CREATE FUNCTION copilot_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'copilot-audit: audit rows are append-only'
    USING DETAIL = format('%s on %s is refused', TG_OP, TG_TABLE_NAME),
          HINT = 'Audit rows are inserted, never changed. Retention detaches whole monthly partitions.';
END
$$;

-- Puts the append-only triggers on one table (a plain table, a partitioned parent or a partition).
-- Row triggers on a partitioned parent are cloned to its partitions by PostgreSQL; TRUNCATE triggers are not,
-- so every partition gets its own.
CREATE FUNCTION copilot_audit_protect(tbl regclass, with_row_triggers boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF with_row_triggers THEN
    EXECUTE format('CREATE TRIGGER audit_append_only_row BEFORE UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION copilot_audit_refuse_change()', tbl);
  END IF;
  EXECUTE format('CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON %s '
                 'FOR EACH STATEMENT EXECUTE FUNCTION copilot_audit_refuse_change()', tbl);
END
$$;

-- Registry of writer chains. Each row is the genesis (seq 0) of its chain.
CREATE TABLE chains (
  chain_id    uuid        NOT NULL PRIMARY KEY,
  writer_name text        NOT NULL,
  host        text        NOT NULL,
  pid         integer     NOT NULL,
  started_at  timestamptz NOT NULL,
  seq         bigint      NOT NULL CHECK (seq = 0),
  prev_hash   text        NOT NULL,
  hash        text        NOT NULL
);
CREATE INDEX chains_writer_name_idx ON chains (writer_name);

-- A chain's end: written by the writer itself on a clean close (reason 'clean', closed_chain_id = chain_id),
-- or by the next run of the same writer name for a chain that died (reason 'recovered').
-- last_seq/last_hash let verify detect rows cut from the tail of a closed chain.
CREATE TABLE chain_closes (
  closed_chain_id uuid        NOT NULL,
  closed_at       timestamptz NOT NULL,
  reason          text        NOT NULL CHECK (reason IN ('clean', 'recovered')),
  last_seq        bigint      NOT NULL,
  last_hash       text        NOT NULL,
  chain_id        uuid        NOT NULL,
  seq             bigint      NOT NULL,
  prev_hash       text        NOT NULL,
  hash            text        NOT NULL,
  PRIMARY KEY (chain_id, seq)
);
CREATE INDEX chain_closes_closed_chain_idx ON chain_closes (closed_chain_id);

-- Extension point for retention (nothing writes it yet): a row declares that seq range [from_seq, to_seq] of
-- chain gap_chain_id was removed on purpose (e.g. a detached partition); last_hash is the hash of row to_seq,
-- so verify can resume that chain after the gap. The declaration is itself a chained row (of the declaring
-- writer's chain), so verify honours it only if that row verifies: an intruder who deletes rows cannot
-- excuse the hole by inserting a declaration.
CREATE TABLE chain_gaps (
  gap_chain_id uuid        NOT NULL,
  from_seq     bigint      NOT NULL,
  to_seq       bigint      NOT NULL,
  last_hash    text        NOT NULL,
  reason       text        NOT NULL,
  declared_at  timestamptz NOT NULL,
  chain_id     uuid        NOT NULL,
  seq          bigint      NOT NULL,
  prev_hash    text        NOT NULL,
  hash         text        NOT NULL,
  PRIMARY KEY (chain_id, seq),
  CHECK (from_seq >= 1 AND to_seq >= from_seq)
);
CREATE INDEX chain_gaps_gap_chain_idx ON chain_gaps (gap_chain_id);

-- One row per client connection (CONNECT tunnel or interception), written when it opens.
CREATE TABLE sessions (
  id                         uuid        NOT NULL,
  opened_at                  timestamptz NOT NULL,
  client_address             text        NOT NULL,
  client_port                integer     NOT NULL,
  target_host                text        NOT NULL,
  target_port                integer     NOT NULL,
  mode                       text        NOT NULL CHECK (mode IN ('intercept', 'tunnel', 'refused')),
  sni                        text,
  refusal_status             integer,
  refusal_code               text,
  refusal_details            text,
  identity_issuer            text,
  identity_subject           text,
  identity_email             text,
  identity_groups            text[],
  identity_token_fingerprint text,
  chain_id                   uuid        NOT NULL,
  seq                        bigint      NOT NULL,
  prev_hash                  text        NOT NULL,
  hash                       text        NOT NULL,
  PRIMARY KEY (chain_id, seq, opened_at)
) PARTITION BY RANGE (opened_at);
CREATE INDEX sessions_id_idx ON sessions (id);

-- A session's close, as a separate row.
CREATE TABLE session_ends (
  session_id        uuid        NOT NULL,
  closed_at         timestamptz NOT NULL,
  bytes_from_client bigint      NOT NULL,
  bytes_to_client   bigint      NOT NULL,
  close_reason      text        NOT NULL,
  exchange_count    integer     NOT NULL,
  chain_id          uuid        NOT NULL,
  seq               bigint      NOT NULL,
  prev_hash         text        NOT NULL,
  hash              text        NOT NULL,
  PRIMARY KEY (chain_id, seq, closed_at)
) PARTITION BY RANGE (closed_at);
CREATE INDEX session_ends_session_id_idx ON session_ends (session_id);

-- One row per intercepted HTTP request, durable before the request goes upstream.
-- Bodies are stored decoded, capped: body_text when valid UTF-8, else body_bytes; body_size and body_sha256
-- describe the full body, body_truncated says whether the stored part is shorter.
CREATE TABLE exchanges (
  id                         uuid        NOT NULL,
  session_id                 uuid,
  session_seq                integer     NOT NULL,
  requested_at               timestamptz NOT NULL,
  method                     text        NOT NULL,
  scheme                     text        NOT NULL,
  host                       text        NOT NULL,
  port                       integer     NOT NULL,
  path                       text        NOT NULL,
  endpoint_kind              text        NOT NULL,
  model                      text,
  client_request_id          text,
  identity_issuer            text,
  identity_subject           text,
  identity_email             text,
  identity_groups            text[],
  identity_token_fingerprint text,
  headers                    jsonb       NOT NULL,
  body_text                  text,
  body_bytes                 bytea,
  body_size                  bigint      NOT NULL,
  body_sha256                text        NOT NULL,
  body_truncated             boolean     NOT NULL,
  prompt_text                text,
  chain_id                   uuid        NOT NULL,
  seq                        bigint      NOT NULL,
  prev_hash                  text        NOT NULL,
  hash                       text        NOT NULL,
  PRIMARY KEY (chain_id, seq, requested_at)
) PARTITION BY RANGE (requested_at);
CREATE INDEX exchanges_id_idx ON exchanges (id);
CREATE INDEX exchanges_session_id_idx ON exchanges (session_id);
CREATE INDEX exchanges_client_request_id_idx ON exchanges (client_request_id);

-- The end of an exchange, as a separate row: status, headers, body, assembled completion text, timings.
CREATE TABLE exchange_responses (
  exchange_id     uuid        NOT NULL,
  responded_at    timestamptz,
  ended_at        timestamptz NOT NULL,
  status          integer,
  headers         jsonb,
  body_text       text,
  body_bytes      bytea,
  body_size       bigint      NOT NULL,
  body_sha256     text        NOT NULL,
  body_truncated  boolean     NOT NULL,
  completion_text text,
  ttfb_ms         integer,
  duration_ms     integer,
  outcome         text        NOT NULL
                  CHECK (outcome IN ('completed', 'aborted', 'upstream_error', 'refused', 'incomplete')),
  error_code      text,
  error_details   text,
  chain_id        uuid        NOT NULL,
  seq             bigint      NOT NULL,
  prev_hash       text        NOT NULL,
  hash            text        NOT NULL,
  PRIMARY KEY (chain_id, seq, ended_at)
) PARTITION BY RANGE (ended_at);
CREATE INDEX exchange_responses_exchange_id_idx ON exchange_responses (exchange_id);

-- Secrets found in a request or response. Only the keyed fingerprint is stored, never the secret.
CREATE TABLE findings (
  exchange_id uuid        NOT NULL,
  recorded_at timestamptz NOT NULL,
  direction   text        NOT NULL CHECK (direction IN ('request', 'response')),
  rule_id     text        NOT NULL,
  location    text        NOT NULL,
  "offset"    integer     NOT NULL,
  length      integer     NOT NULL,
  fingerprint text        NOT NULL,
  action      text        NOT NULL,
  chain_id    uuid        NOT NULL,
  seq         bigint      NOT NULL,
  prev_hash   text        NOT NULL,
  hash        text        NOT NULL,
  PRIMARY KEY (chain_id, seq, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX findings_exchange_id_idx ON findings (exchange_id);
CREATE INDEX findings_fingerprint_idx ON findings (fingerprint);

-- Bodies are compressed with lz4 where the server has it (several times faster to write than the default
-- pglz); set before any partition exists so every partition inherits it. PGlite lacks lz4 and keeps pglz.
DO $$
DECLARE
  col record;
BEGIN
  FOR col IN SELECT * FROM (VALUES ('exchanges', 'headers'), ('exchanges', 'body_text'), ('exchanges', 'body_bytes'),
      ('exchanges', 'prompt_text'), ('exchange_responses', 'headers'), ('exchange_responses', 'body_text'),
      ('exchange_responses', 'body_bytes'), ('exchange_responses', 'completion_text')) AS c(tbl, name) LOOP
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET COMPRESSION lz4', col.tbl, col.name);
  END LOOP;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'copilot-audit: lz4 not available, bodies use the default TOAST compression';
END
$$;

CREATE TABLE sessions_default PARTITION OF sessions DEFAULT;
CREATE TABLE session_ends_default PARTITION OF session_ends DEFAULT;
CREATE TABLE exchanges_default PARTITION OF exchanges DEFAULT;
CREATE TABLE exchange_responses_default PARTITION OF exchange_responses DEFAULT;
CREATE TABLE findings_default PARTITION OF findings DEFAULT;

SELECT copilot_audit_protect('chains', true);
SELECT copilot_audit_protect('chain_closes', true);
SELECT copilot_audit_protect('chain_gaps', true);
SELECT copilot_audit_protect('sessions', true);
SELECT copilot_audit_protect('session_ends', true);
SELECT copilot_audit_protect('exchanges', true);
SELECT copilot_audit_protect('exchange_responses', true);
SELECT copilot_audit_protect('findings', true);
SELECT copilot_audit_protect('sessions_default', false);
SELECT copilot_audit_protect('session_ends_default', false);
SELECT copilot_audit_protect('exchanges_default', false);
SELECT copilot_audit_protect('exchange_responses_default', false);
SELECT copilot_audit_protect('findings_default', false);

-- Creates the monthly partitions (UTC months) of every partitioned audit table for the current month and the
-- next `months_ahead` months, each with its TRUNCATE trigger. Idempotent; serialised by an advisory lock.
-- A month whose rows already sit in the DEFAULT partition cannot be created: that month is skipped with a
-- WARNING (its rows stay in DEFAULT), the others are still created.
CREATE FUNCTION copilot_audit_ensure_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  parent  text;
  m       integer;
  m_start timestamp;
  part    text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7220577213570101);
  FOREACH parent IN ARRAY ARRAY['sessions', 'session_ends', 'exchanges', 'exchange_responses', 'findings'] LOOP
    FOR m IN 0..months_ahead LOOP
      m_start := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => m);
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
  END LOOP;
  RETURN created;
END
$$;

-- What an auditor reads first: each exchange with its response (if any).
CREATE VIEW exchange_log AS
SELECT e.id, e.requested_at, r.ended_at, e.identity_subject, e.identity_email, e.method, e.host, e.path,
       e.endpoint_kind, e.model, e.client_request_id, r.status, r.outcome, r.ttfb_ms, r.duration_ms,
       e.prompt_text, r.completion_text, e.session_id, e.chain_id
FROM exchanges e
LEFT JOIN exchange_responses r ON r.exchange_id = e.id;

-- A read-only role for auditors (cluster-global, hence created only if missing and tolerant of a concurrent
-- creation by another database's migration; skipped with a NOTICE when the migrating user may not create roles).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'copilot_audit_auditor') THEN
    BEGIN
      CREATE ROLE copilot_audit_auditor NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'copilot-audit: role copilot_audit_auditor not created (no CREATEROLE privilege)';
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'copilot_audit_auditor') THEN
    GRANT SELECT ON chains, chain_closes, chain_gaps, sessions, session_ends, exchanges, exchange_responses,
      findings, exchange_log TO copilot_audit_auditor;
  END IF;
END
$$;
