"""Fleet models: deterministic bytes per seed, the profile's rates over 60 s, payloads the handlers accept."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from fleet_models.orders import OrdersConfig
from fleet_models.tasks import TasksConfig
from fleet_models.units import UnitsConfig
from fleet_models.vehicles import VehicleFleetConfig
from loadgen.profiles import load_profile

SMALL = {
    "vehicles": lambda seed: VehicleFleetConfig(vehicles=3000, seed=seed),
    "orders": lambda seed: OrdersConfig(restaurants=200, drivers=2000, customers=20000, orders_per_day=400_000,
                                        seed=seed),
    "units": lambda seed: UnitsConfig(units=6000, vendors=150, requests_per_unit_per_year=2000.0, seed=seed),
    "tasks": lambda seed: TasksConfig(users=5000, tasks_per_user_per_day=40.0, seed=seed),
}


def digest(config, seconds: int = 20) -> str:
    model, h = config.build(), hashlib.sha256()
    t0 = config.peak_time_s
    for s in range(seconds):
        for name, batch in sorted(model.generate(t0 + s, t0 + s + 1).items()):
            h.update(name.encode())
            for key, data in zip(batch.partition_keys, batch.data):
                h.update(key.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


@pytest.mark.parametrize("domain", sorted(SMALL))
def test_same_seed_gives_identical_bytes_and_another_seed_differs(domain):
    make = SMALL[domain]
    assert digest(make(7)) == digest(make(7))
    assert digest(make(7)) != digest(make(8))


WINDOW_S = 30


@pytest.mark.parametrize("stack, env, scenario", [
    ("fleet_telematics", "prod", None), ("food_delivery", "prod", None), ("property_maintenance", "prod", None),
    ("food_delivery", "dev", None), ("task_api", "prod", None), ("property_maintenance", "prod", "freeze"),
    ("food_delivery", "dev", "game_night"), ("fleet_telematics", "prod", "shift_change")])
def test_thirty_seconds_match_the_profile_rates(stack, env, scenario):
    """At the busiest moment, periodic streams must match their peak within 2%; Poisson streams within 2% or 4
    sigma of their count."""
    profile = load_profile(stack, env, scenario=scenario)
    config = profile.config()
    model = config.build()
    counts: dict[str, int] = {}
    t0 = config.peak_time_s
    for s in range(WINDOW_S):
        for name, batch in model.generate(t0 + s, t0 + s + 1).items():
            counts[name] = counts.get(name, 0) + len(batch)
    for demand in config.demand():
        if demand.kind == "websocket":
            continue  # lifecycle events follow orders with minutes of delay, not at the order rate yet
        expected = demand.peak_rps * WINDOW_S
        allowed = max(0.02 * expected, 4 * np.sqrt(expected)) if demand.mean_rps != demand.peak_rps else 0.02 * expected
        assert abs(counts[demand.name] - expected) <= allowed, (demand.name, counts[demand.name], expected)


@pytest.mark.parametrize("domain", sorted(SMALL))
def test_every_payload_is_json_with_its_partition_key(domain):
    config = SMALL[domain](3)
    batches = config.build().generate(config.peak_time_s, config.peak_time_s + 5)
    assert any(len(b) for b in batches.values())
    for batch in batches.values():
        assert len(batch.data) == len(batch.partition_keys) == batch.intended_s.size
        assert np.all(np.diff(batch.intended_s) >= 0) or batch.stream == "order_events"
        for data, key in zip(batch.data, batch.partition_keys):
            record = json.loads(data)
            assert key in data.decode(), (batch.stream, key)
            assert isinstance(record, dict)


def test_orders_partition_keys_are_skewed_towards_hot_restaurants():
    config = OrdersConfig(restaurants=500, drivers=100, customers=1000, orders_per_day=2_000_000, seed=1)
    model = config.build()
    keys = [k for s in range(60) for k in model.generate(config.peak_time_s + s, config.peak_time_s + s + 1)["orders"].partition_keys]
    _, counts = np.unique(keys, return_counts=True)
    top = np.sort(counts)[::-1]
    assert top[:5].sum() > 0.1 * len(keys)  # five of 500 restaurants take over a tenth of the orders


# Each generated stream or route, and the JSON schema in terraform/ its handler (and API Gateway) validates with.
SCHEMAS = [
    ("vehicles", "gps", "fleet_telematics/schemas/gps_record.json"),
    ("vehicles", "diagnostics", "fleet_telematics/schemas/diagnostics_record.json"),
    ("vehicles", "hos", "fleet_telematics/schemas/hos_record.json"),
    ("orders", "POST /orders", "food_delivery/schemas/order_request.json"),
    ("units", "POST /request", "property_maintenance/schemas/maintenance_request.json"),
    ("units", "POST /vendor/status", "property_maintenance/schemas/vendor_status_update.json"),
    ("tasks", "POST /tasks", "task_api/schemas/create_task.json"),
]


@pytest.mark.parametrize("domain, stream, schema", SCHEMAS)
def test_payloads_validate_against_the_stack_schemas(domain, stream, schema):
    import jsonschema

    from conftest import TERRAFORM

    validator = jsonschema.Draft4Validator(json.loads((TERRAFORM / schema).read_text()))
    config = SMALL[domain](11)
    model = config.build()
    records = [d for s in range(10) for d in model.generate(config.peak_time_s + s, config.peak_time_s + s + 1)[stream].data]
    assert records
    for data in records:
        errors = [e.message for e in validator.iter_errors(json.loads(data))]
        assert errors == [], data


def test_vehicles_have_depot_yards_customer_sites_and_restricted_zones_as_geofences():
    fleet = VehicleFleetConfig(vehicles=30_000, seed=4).build()
    fences = fleet.geofences
    assert (fences.fence_type == "watch").sum() == fleet.depots_lat.size + 300
    assert (fences.fence_type == "restricted").sum() == 30
    assert len(set(fences.ids())) == len(fences)
    from fleet_models.geography import distance_km

    assert np.median(distance_km(fleet.lat, fleet.lon, fleet.depot_lat, fleet.depot_lon)) < 10


def test_tasks_carry_their_project_and_optional_fields_in_the_profiles_shares():
    """The title names the creator's team project (the record's key); the assignee is a teammate; description and
    assignee appear in about their configured shares, and the handler's own fields (id, status) are never sent."""
    config = TasksConfig(users=800, tasks_per_user_per_day=400.0, seed=5, description_fraction=0.25)
    batch = config.build().generate(config.peak_time_s, config.peak_time_s + 60)["POST /tasks"]
    bodies = [json.loads(d) for d in batch.data]
    assert len(bodies) > 1000
    for body, key in zip(bodies, batch.partition_keys):
        assert body["title"].startswith(f"{key}: ") and not {"id", "status", "created_at"} & set(body)
        if "assignee" in body:
            assert int(body["assignee"][2:]) // config.team_size == int(key[2:])
    described = sum("description" in b for b in bodies) / len(bodies)
    assigned = sum("assignee" in b for b in bodies) / len(bodies)
    assert abs(described - 0.25) < 0.05 and abs(assigned - config.assigned_fraction) < 0.05
