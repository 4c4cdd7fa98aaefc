-- The stack's Aurora PostgreSQL tables. Packaged next to telematics_common.py, whose ensure_schema runs it whole
-- on the first connection of each container, so the stack works without a separate migration step (a migration
-- tool can own it later): every statement is idempotent (IF NOT EXISTS). The local target applies it when it
-- provisions the stack's cluster (loadgen/target/local_postgres.py).

CREATE TABLE IF NOT EXISTS maintenance_schedule (
    work_order_id   BIGSERIAL PRIMARY KEY,
    source_event_id TEXT NOT NULL UNIQUE,
    vehicle_id      TEXT NOT NULL,
    source          TEXT NOT NULL,
    category        TEXT NOT NULL,
    severity        TEXT NOT NULL,
    detail          TEXT,
    confidence      NUMERIC(5, 4),
    due_date        DATE NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vehicle_history (
    vehicle_id          TEXT PRIMARY KEY,
    fleet_id            TEXT NOT NULL DEFAULT 'unassigned',
    vehicle_type        TEXT,
    model_year          INTEGER,
    odometer_km         NUMERIC(12, 1) NOT NULL DEFAULT 0,
    engine_hours        NUMERIC(10, 1) NOT NULL DEFAULT 0,
    last_service_date   DATE,
    failures_12m        INTEGER NOT NULL DEFAULT 0,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS fuel_analytics (
    vehicle_id   TEXT NOT NULL,
    day          DATE NOT NULL,
    vehicle_type TEXT NOT NULL,
    distance_km  NUMERIC(12, 3) NOT NULL DEFAULT 0,
    fuel_l       NUMERIC(12, 3) NOT NULL DEFAULT 0,
    idle_s       NUMERIC(12, 1) NOT NULL DEFAULT 0,
    engine_s     NUMERIC(12, 1) NOT NULL DEFAULT 0,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (vehicle_id, day)
);

CREATE TABLE IF NOT EXISTS inspections (
    inspection_id  BIGSERIAL PRIMARY KEY,
    vehicle_id     TEXT NOT NULL,
    driver_id      TEXT,
    fleet_id       TEXT NOT NULL,
    inspected_at   TIMESTAMPTZ NOT NULL,
    kind           TEXT NOT NULL,
    defects        JSONB NOT NULL DEFAULT '[]'::jsonb,
    safe_to_operate BOOLEAN NOT NULL DEFAULT true
);

CREATE INDEX IF NOT EXISTS maintenance_schedule_vehicle_open ON maintenance_schedule (vehicle_id) WHERE status = 'open';
