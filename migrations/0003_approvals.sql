-- copilot-audit schema, part 3: just-in-time approvals (issue 6).
--
-- Two parts with different jobs:
--   * approval_events: the AUDIT TRAIL. Append-only and hash-chained like every audit table (written through the
--     AuditWriter, in the writer's chain): one row per request, reason, decision, expiry and revocation.
--     The `approvals` view derives each request's story from these rows alone.
--   * approval_requests: mutable OPERATIONAL state (current status, "one pending request per subject"), used
--     by gateways to decide quickly and to serialise decisions. Nothing in the audit trail depends on it.
--     Every change bumps change_seq and notifies channel `copilot_audit_approvals` (payload: the request id), so
--     replicas refresh their in-memory view within milliseconds (LISTEN/NOTIFY; PGlite polls).

CREATE TABLE approval_events (
  request_id    text        NOT NULL,
  event         text        NOT NULL CHECK (event IN ('requested', 'reason', 'granted', 'denied', 'revoked', 'expired')),
  at            timestamptz NOT NULL,
  issuer        text,
  subject       text        NOT NULL,
  email         text,
  groups        text[],
  actor         text        NOT NULL,
  actor_kind    text        NOT NULL CHECK (actor_kind IN ('requester', 'approver', 'operator', 'system')),
  actor_subject text,
  reason        text,
  note          text,
  ttl_seconds   integer,
  expires_at    timestamptz,
  chain_id      uuid        NOT NULL,
  seq           bigint      NOT NULL,
  prev_hash     text        NOT NULL,
  hash          text        NOT NULL,
  PRIMARY KEY (chain_id, seq)
);
CREATE INDEX approval_events_request_idx ON approval_events (request_id, at);
CREATE INDEX approval_events_subject_idx ON approval_events (subject);
SELECT copilot_audit_protect('approval_events', true);

CREATE SEQUENCE approval_change_seq;

CREATE TABLE approval_requests (
  id                  text        NOT NULL PRIMARY KEY,
  issuer              text        NOT NULL,
  subject             text        NOT NULL,
  email               text,
  groups              text[],
  reason              text,
  status              text        NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'revoked', 'expired')),
  requested_at        timestamptz NOT NULL,
  default_ttl_seconds integer     NOT NULL,
  decided_at          timestamptz,
  decided_by          text,
  decision_note       text,
  ttl_seconds         integer,
  expires_at          timestamptz,
  revoked_at          timestamptz,
  revoked_by          text,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  change_seq          bigint      NOT NULL DEFAULT nextval('approval_change_seq')
);
-- One pending request per subject, across every replica.
CREATE UNIQUE INDEX approval_requests_one_pending_idx ON approval_requests (issuer, subject) WHERE status = 'pending';
CREATE INDEX approval_requests_subject_idx ON approval_requests (issuer, subject, requested_at DESC);
CREATE INDEX approval_requests_requested_at_idx ON approval_requests (requested_at);

CREATE FUNCTION copilot_audit_approval_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := nextval('approval_change_seq');
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER approval_requests_bump BEFORE UPDATE ON approval_requests
  FOR EACH ROW EXECUTE FUNCTION copilot_audit_approval_bump();

CREATE FUNCTION copilot_audit_approval_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('copilot_audit_approvals', coalesce(NEW.id, OLD.id));
  RETURN NULL;
END
$$;
CREATE TRIGGER approval_requests_notify AFTER INSERT OR UPDATE OR DELETE ON approval_requests
  FOR EACH ROW EXECUTE FUNCTION copilot_audit_approval_notify();

-- One row per approval request, derived from the audit trail (approval_events) only. `status` is computed:
-- revoked > denied > expired (an expiry row, or a grant whose expires_at has passed) > granted > pending.
CREATE VIEW approvals AS
SELECT r.request_id AS id,
       r.subject,
       r.email,
       r.groups,
       (SELECT x.reason FROM approval_events x
         WHERE x.request_id = r.request_id AND x.event IN ('requested', 'reason') AND x.reason IS NOT NULL
         ORDER BY x.at DESC LIMIT 1) AS reason,
       CASE WHEN rv.at IS NOT NULL THEN 'revoked'
            WHEN d.event = 'denied' THEN 'denied'
            WHEN d.event = 'granted' AND (ex.at IS NOT NULL OR d.expires_at <= now()) THEN 'expired'
            WHEN d.event = 'granted' THEN 'granted'
            ELSE 'pending' END AS status,
       r.at AS requested_at,
       d.at AS decided_at,
       d.actor AS decided_by,
       d.note AS decision_note,
       d.ttl_seconds,
       d.expires_at,
       rv.at AS revoked_at,
       rv.actor AS revoked_by,
       r.issuer
FROM approval_events r
LEFT JOIN LATERAL (SELECT x.event, x.at, x.actor, x.note, x.ttl_seconds, x.expires_at FROM approval_events x
                    WHERE x.request_id = r.request_id AND x.event IN ('granted', 'denied')
                    ORDER BY x.at LIMIT 1) d ON true
LEFT JOIN LATERAL (SELECT x.at, x.actor FROM approval_events x
                    WHERE x.request_id = r.request_id AND x.event = 'revoked'
                    ORDER BY x.at LIMIT 1) rv ON true
LEFT JOIN LATERAL (SELECT x.at FROM approval_events x
                    WHERE x.request_id = r.request_id AND x.event = 'expired'
                    ORDER BY x.at LIMIT 1) ex ON true
WHERE r.event = 'requested';

-- Every hash-chained row, whatever its table (0002's audit_chain_rows): approval_events rows are chained too.
-- Appended to the view's current definition, so this keeps whatever 0002 defined.
DO $$
BEGIN
  IF to_regclass('audit_chain_rows') IS NOT NULL THEN
    EXECUTE 'CREATE OR REPLACE VIEW audit_chain_rows AS '
      || rtrim(pg_get_viewdef('audit_chain_rows'::regclass), E'; \n')
      || ' UNION ALL SELECT chain_id, seq, ''approval_events''::text, at, prev_hash, hash FROM approval_events';
  END IF;
END
$$;

-- The read-only role for auditors sees the view (like 0002's views); copilot_audit_auditor (0001) also the rows.
-- Roles are cluster-global: created when missing, tolerant of a concurrent creation and, with a NOTICE, of a
-- migrating user without CREATEROLE.
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
    GRANT SELECT ON approvals TO copilot_audit_reader;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'copilot_audit_auditor') THEN
    GRANT SELECT ON approvals, approval_events TO copilot_audit_auditor;
  END IF;
END
$$;
