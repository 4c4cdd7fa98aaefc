"""Where the synthetic world lives: metro areas and vectorized point placement and movement on the sphere."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EARTH_KM_PER_DEG = 111.32


@dataclass(frozen=True)
class Metro:
    name: str
    lat: float
    lon: float
    radius_km: float
    utc_offset_h: float
    """Local time minus UTC in January (standard time), hours."""


METROS = (
    Metro("dallas", 32.7767, -96.7970, 45.0, -6.0),
    Metro("atlanta", 33.7490, -84.3880, 40.0, -5.0),
    Metro("chicago", 41.8781, -87.6298, 40.0, -6.0),
    Metro("los_angeles", 34.0522, -118.2437, 50.0, -8.0),
    Metro("columbus", 39.9612, -82.9988, 30.0, -5.0),
    Metro("phoenix", 33.4484, -112.0740, 40.0, -7.0),
)


def scatter(centers_lat: np.ndarray, centers_lon: np.ndarray, radius_km: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points spread around centers, denser near the center (radius ~ sqrt-uniform x 0.8 + normal tail)."""
    n = centers_lat.shape[0]
    r = radius_km * np.minimum(np.abs(rng.normal(0.0, 0.45, n)), 1.0)
    theta = rng.uniform(0.0, 2 * np.pi, n)
    return move(centers_lat, centers_lon, r, np.degrees(theta))


def move(lat: np.ndarray, lon: np.ndarray, distance_km: np.ndarray, heading_deg: np.ndarray):
    """Positions after travelling distance_km on heading_deg (flat-earth step, fine at city scale)."""
    h = np.radians(heading_deg)
    dlat = distance_km * np.cos(h) / EARTH_KM_PER_DEG
    dlon = distance_km * np.sin(h) / (EARTH_KM_PER_DEG * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def distance_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def bearing_deg(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0
