-- The stack's Aurora PostgreSQL tables. Packaged next to maintenance_common.py, which hands it to the handlers
-- that connect to Aurora (maintenance_common.aurora_schema): each runs it whole on its first connection, so
-- every statement is idempotent (IF NOT EXISTS). The local target applies it when it provisions the stack's
-- cluster (loadgen/target/local_postgres.py).

-- Every committed status transition, written by the status webhook (vendor_status).
CREATE TABLE IF NOT EXISTS maintenance_audit (
    audit_id BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL,
    vendor_id TEXT NOT NULL,
    property_id TEXT,
    priority TEXT,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    version INTEGER NOT NULL,
    sla_met BOOLEAN,
    notes TEXT,
    reported_at TIMESTAMPTZ,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (request_id, version)
);

-- Written by the status webhook, read by the compliance sweep (compliance_daily) and the Redis sync.
CREATE TABLE IF NOT EXISTS vendor_assignments (
    request_id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL,
    property_id TEXT,
    priority TEXT NOT NULL,
    category TEXT,
    status TEXT NOT NULL,
    assigned_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    response_due_at TIMESTAMPTZ,
    resolution_due_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS vendor_assignments_open_idx ON vendor_assignments (status, resolution_due_at);
