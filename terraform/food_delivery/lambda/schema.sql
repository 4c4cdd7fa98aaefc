-- The stack's Aurora PostgreSQL tables. Packaged next to datastores.py, whose pg_connection runs it whole once per
-- container, so every statement is idempotent (IF NOT EXISTS). The local target applies it when it provisions
-- the stack's cluster (loadgen/target/local_postgres.py).

CREATE TABLE IF NOT EXISTS restaurant_profiles (
    restaurant_id TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL, lon DOUBLE PRECISION NOT NULL,
    is_open BOOLEAN NOT NULL DEFAULT TRUE, prep_minutes INTEGER NOT NULL DEFAULT 15,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS pricing_rules (
    rule_id BIGSERIAL PRIMARY KEY, region TEXT NOT NULL,
    base_pay NUMERIC(10,2) NOT NULL, per_km NUMERIC(10,4) NOT NULL, per_minute NUMERIC(10,4) NOT NULL,
    min_per_order NUMERIC(10,2) NOT NULL, surge_share NUMERIC(5,4) NOT NULL DEFAULT 1,
    tip_share NUMERIC(5,4) NOT NULL DEFAULT 1,
    effective_from DATE NOT NULL, effective_to DATE);

CREATE TABLE IF NOT EXISTS driver_earnings (
    driver_id TEXT NOT NULL, delivery_date DATE NOT NULL, order_count INTEGER NOT NULL,
    distance_km NUMERIC(12,3) NOT NULL, minutes NUMERIC(12,2) NOT NULL,
    base_pay NUMERIC(12,2) NOT NULL, surge_bonus NUMERIC(12,2) NOT NULL, tips NUMERIC(12,2) NOT NULL,
    total NUMERIC(12,2) NOT NULL, computed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (driver_id, delivery_date));

CREATE TABLE IF NOT EXISTS analytics_orders (
    order_id TEXT PRIMARY KEY, restaurant_id TEXT NOT NULL, driver_id TEXT, region TEXT,
    placed_at TIMESTAMPTZ, delivered_at TIMESTAMPTZ NOT NULL, delivery_minutes NUMERIC(10,2),
    distance_km NUMERIC(10,3), delivery_fee NUMERIC(10,2), tip NUMERIC(10,2),
    surge_multiplier NUMERIC(6,3), customer_rating NUMERIC(3,2));
