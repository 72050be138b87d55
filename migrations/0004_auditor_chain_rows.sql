-- copilot-audit schema, part 4: audit_chain_rows (0002) covers approval_events (0003) too.
-- The view lists every hash-chained row so that chains can be checked in SQL; a chained table missing from it
-- would show its rows' seqs as holes. Same columns, so grants are kept. Every new chained table must be added
-- here the same way (packages/store/test/views.test.ts fails otherwise).

CREATE OR REPLACE VIEW audit_chain_rows AS
SELECT chain_id, seq, 'chains'::text AS table_name, started_at AS at, prev_hash, hash FROM chains
UNION ALL SELECT chain_id, seq, 'sessions', opened_at, prev_hash, hash FROM sessions
UNION ALL SELECT chain_id, seq, 'exchanges', requested_at, prev_hash, hash FROM exchanges
UNION ALL SELECT chain_id, seq, 'findings', recorded_at, prev_hash, hash FROM findings
UNION ALL SELECT chain_id, seq, 'exchange_responses', ended_at, prev_hash, hash FROM exchange_responses
UNION ALL SELECT chain_id, seq, 'session_ends', closed_at, prev_hash, hash FROM session_ends
UNION ALL SELECT chain_id, seq, 'chain_closes', closed_at, prev_hash, hash FROM chain_closes
UNION ALL SELECT chain_id, seq, 'chain_gaps', declared_at, prev_hash, hash FROM chain_gaps
UNION ALL SELECT chain_id, seq, 'retention_runs', run_at, prev_hash, hash FROM retention_runs
UNION ALL SELECT chain_id, seq, 'approval_events', at, prev_hash, hash FROM approval_events;
