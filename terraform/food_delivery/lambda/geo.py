"""Geohash and great-circle helpers shared by the order consumer and the location processor.

Geohash precision 5 (~4.9 km x 4.9 km cells) is the key of the driver_locations geohash-index
GSI; the order consumer queries the restaurant's cell and its eight neighbours.
"""

import math

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_DECODE = {c: i for i, c in enumerate(_BASE32)}
EARTH_RADIUS_KM = 6371.0088
GSI_PRECISION = 5


def encode(lat, lon, precision=GSI_PRECISION):
    """Geohash of a point."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"coordinates out of range: {lat}, {lon}")
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    chars, bits, ch, even = [], 0, 0, True
    while len(chars) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            if lon >= mid:
                ch = (ch << 1) | 1
                lon_lo = mid
            else:
                ch <<= 1
                lon_hi = mid
        else:
            mid = (lat_lo + lat_hi) / 2
            if lat >= mid:
                ch = (ch << 1) | 1
                lat_lo = mid
            else:
                ch <<= 1
                lat_hi = mid
        even = not even
        bits += 1
        if bits == 5:
            chars.append(_BASE32[ch])
            bits, ch = 0, 0
    return "".join(chars)


def decode_bbox(geohash):
    """(lat_lo, lat_hi, lon_lo, lon_hi) of a geohash cell."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for c in geohash:
        value = _DECODE[c]
        for shift in range(4, -1, -1):
            bit = (value >> shift) & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                if bit:
                    lon_lo = mid
                else:
                    lon_hi = mid
            else:
                mid = (lat_lo + lat_hi) / 2
                if bit:
                    lat_lo = mid
                else:
                    lat_hi = mid
            even = not even
    return lat_lo, lat_hi, lon_lo, lon_hi


def cell_and_neighbours(geohash):
    """The cell itself and its (up to) eight neighbours, without duplicates."""
    lat_lo, lat_hi, lon_lo, lon_hi = decode_bbox(geohash)
    lat_c, lon_c = (lat_lo + lat_hi) / 2, (lon_lo + lon_hi) / 2
    dlat, dlon = lat_hi - lat_lo, lon_hi - lon_lo
    cells = []
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            lat = lat_c + i * dlat
            if lat < -90.0 or lat > 90.0:
                continue
            lon = lon_c + j * dlon
            lon = ((lon + 180.0) % 360.0) - 180.0
            cell = encode(lat, lon, len(geohash))
            if cell not in cells:
                cells.append(cell)
    return cells


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
