"""NYC taxi (synthetic): 2019 yellow-taxi trips generated partition by partition on the workers.

Any size from 1e6 to 1e9 rows, nothing written to disk: this is how a laptop
user meets larger-than-memory work. Each partition draws from its own seeded
generator, so the same size and seed give the same data on any worker.

The trips are shaped like New York's so that workshop queries find something:
pickups and dropoffs lie along Manhattan's avenues, at JFK and LaGuardia and
around a few Brooklyn, Queens and Bronx centres; pickup hours follow a daily and
weekly rhythm; fares follow the 2019 meter (with JFK's flat fare); tips depend
on payment type, fare, hour, trip and group size. Plausible numbers, not TLC's.
"""
from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import param

from .base import Dataset

YEAR_START = pd.Timestamp("2019-01-01").value
DAY_NS, HOUR_NS = pd.Timedelta(days=1).value, pd.Timedelta(hours=1).value
LON_RANGE, LAT_RANGE = (-74.05, -73.75), (40.60, 40.90)
KM_PER_MILE = 1.609

# -- drawing many categories at once -------------------------------------------------


def _alias(p) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for the distribution ``p`` (each row of a 2-D ``p`` is one).

    Drawing from it costs two lookups per item whatever the number of categories,
    where a search of cumulative sums would cost one per halving (15 for the cells).
    """
    p = np.atleast_2d(np.asarray(p, dtype=float))
    keep, alias = np.ones(p.shape), np.tile(np.arange(p.shape[1]), (len(p), 1))
    for row, weights in enumerate(p):
        scaled = weights / weights.sum() * len(weights)
        small, large = list(np.flatnonzero(scaled < 1)), list(np.flatnonzero(scaled >= 1))
        while small and large:
            low, high = small.pop(), large.pop()
            keep[row, low], alias[row, low] = scaled[low], high
            scaled[high] -= 1 - scaled[low]
            (small if scaled[high] < 1 else large).append(high)
    return keep, alias


def _draw(rng, table, n: int, row=0) -> np.ndarray:
    """``n`` categories from an alias table, item i from its row ``row[i]``."""
    keep, alias = table
    k = keep.shape[1]
    scaled = rng.random(n) * k
    pick = scaled.astype(np.intp)
    at = row * k + pick
    return np.where(scaled - pick < keep.ravel()[at], pick, alias.ravel()[at])


# -- where: Manhattan's street grid --------------------------------------------------
# Positions are km in the grid's own frame, from 5th Avenue & 42nd Street: u runs
# up the avenues (29 degrees east of true north), v across them towards the East
# River. Drawing in this frame is what makes the avenues come out as lines.
ORIGIN = (-73.9810, 40.7532)
BEARING = np.radians(29.0)
KM_PER_DEGREE = (111.32 * np.cos(np.radians(40.75)), 110.95)  # longitude, latitude


def street(number: float) -> float:
    """u of a numbered street: 20 blocks to the mile."""
    return (number - 42) * 0.0805


def grid_to_lonlat(u, v):
    east = u * np.sin(BEARING) + v * np.cos(BEARING)
    north = u * np.cos(BEARING) - v * np.sin(BEARING)
    return ORIGIN[0] + east / KM_PER_DEGREE[0], ORIGIN[1] + north / KM_PER_DEGREE[1]


def lonlat_to_grid(lon, lat):
    east = (np.asarray(lon) - ORIGIN[0]) * KM_PER_DEGREE[0]
    north = (np.asarray(lat) - ORIGIN[1]) * KM_PER_DEGREE[1]
    return (east * np.sin(BEARING) + north * np.cos(BEARING),
            east * np.cos(BEARING) - north * np.sin(BEARING))


# Avenues as (v, first street, last street, relative traffic per km).
AVENUES = (
    (1.14, 59, 92, 0.5), (1.14, 0, 14, 0.5),   # York Avenue; Avenue A
    (0.96, 0, 110, 1.0), (0.76, 0, 110, 1.0),  # 1st, 2nd
    (0.56, 8, 110, 1.1), (0.37, 21, 110, 1.1), (0.25, 8, 110, 1.2),  # 3rd, Lexington, Park
    (0.13, 23, 110, 1.0), (0.0, 8, 110, 1.2),  # Madison, 5th
    (-0.28, 8, 59, 1.3), (-0.56, 12, 59, 1.2),  # 6th and 7th end at Central Park
    (-0.84, 14, 110, 1.2), (-1.12, 14, 110, 1.0), (-1.40, 14, 110, 1.0),  # 8th/CPW, 9th, 10th
    (-1.68, 23, 110, 0.6),  # 11th / West End
)
# Broadway cuts across the grid; downtown, below the grid, it carries the avenues' traffic.
BROADWAY = ((-5.97, 0.15), (-4.84, 0.22), (street(14), 0.24), (street(23), 0.0),
            (street(34), -0.28), (street(45), -0.56), (street(59), -0.84),
            (street(66), -1.12), (street(73), -1.40), (street(110), -1.52))
# Below the grid, streets read off the map: Church/6th, Hudson/8th, Lafayette,
# Bowery/3rd, Water, Canal and Chambers.
DOWNTOWN = (((-5.26, 0.05), (-4.24, 0.02), (street(8), -0.28)),
            ((-4.69, -0.13), (-3.40, -0.55), (-2.55, -0.90), (street(14), -0.84)),
            ((-4.67, 0.54), (-2.82, 0.40)), ((-4.53, 0.92), (-2.98, 0.74), (street(8), 0.56)),
            ((-6.16, 0.42), (-5.60, 0.69), (-4.93, 1.00)), ((-4.07, -0.49), (-4.02, 1.03)),
            ((-4.79, -0.48), (-4.75, 0.51)))
CROSSTOWN = (0, 14, 23, 34, 42, 57, 72, 79, 86, 96)  # the wide two-way streets
# The shores as v at a given u, and how busy each stretch of the island is.
WEST_SHORE = ((-6.4, -5.3, -3.6, -2.3, 0.0, 2.7, 5.6), (0.05, -0.3, -0.9, -1.5, -2.0, -2.0, -1.85))
EAST_SHORE = ((-6.4, -5.4, -4.9, -3.1, -2.1, -1.4, -0.5, 4.6, 5.6),
              (0.05, 0.9, 1.5, 2.2, 1.8, 1.45, 1.17, 1.3, 1.3))
BUSY = ((-6.3, -5.5, -4.6, -3.4, -2.3, -1.5, -0.6, 0.4, 1.4, 2.5, 4.0, 5.5),
        (0.6, 1.3, 1.2, 0.9, 0.85, 0.95, 1.0, 1.0, 0.8, 0.55, 0.4, 0.25))
CELL = 0.05  # km: an avenue stays about half a block wide on the map
U0, V0, NU, NV = -6.5, -2.2, 242, 92
SIDE_STREETS = 0.25  # share of Manhattan trips off the avenues and wide streets


def _manhattan_cells() -> tuple[np.ndarray, np.ndarray]:
    """How likely each 50 m cell of Manhattan (Battery to 110th St) is, as an alias table."""
    u = U0 + (np.arange(NU) + 0.5) * CELL
    v = V0 + (np.arange(NV) + 0.5) * CELL
    uu, vv = np.meshgrid(u, v, indexing="ij")
    park = (uu > street(59)) & (uu < street(110)) & (vv > -0.84) & (vv < -0.02)
    land = ((vv > np.interp(uu, *WEST_SHORE)) & (vv < np.interp(uu, *EAST_SHORE))
            & (uu < street(110)) & ~park)
    lines = [(((street(a), v_), (street(b), v_)), w) for v_, a, b, w in AVENUES]
    lines += [(BROADWAY, 1.2)] + [(points, 1.0) for points in DOWNTOWN]
    lines += [(((street(s), V0), (street(s), -V0)), 0.6) for s in CROSSTOWN]
    traffic = np.zeros((NU, NV))
    for points, weight in lines:
        for (u1, v1), (u2, v2) in zip(points[:-1], points[1:]):
            steps = int(np.hypot(u2 - u1, v2 - v1) / CELL * 4) + 1
            at = np.linspace(0, 1, steps, endpoint=False)
            iu = ((u1 + (u2 - u1) * at - U0) / CELL).astype(int).clip(0, NU - 1)
            iv = ((v1 + (v2 - v1) * at - V0) / CELL).astype(int).clip(0, NV - 1)
            np.add.at(traffic, (iu, iv), weight * np.hypot(u2 - u1, v2 - v1) / steps)
    traffic *= land
    busy = np.interp(uu, *BUSY)
    p = busy * ((1 - SIDE_STREETS) * traffic / traffic.sum() + SIDE_STREETS * land / land.sum())
    return _alias(p.ravel())


MANHATTAN_CELLS = _manhattan_cells()
# Places besides Manhattan's grid: (lon, lat, spread in km, share of outer trips).
MANHATTAN, JFK, LGA = 0, 1, 2
PLACES = np.array([
    (np.nan, np.nan, 0.0, 0.0),  # Manhattan: drawn on its streets instead
    (-73.7840, 40.6440, 0.5, 0.0), (-73.8726, 40.7738, 0.3, 0.0),  # JFK, LaGuardia terminals
    (-73.9880, 40.6930, 0.7, 0.22), (-73.9570, 40.7140, 0.7, 0.18),  # Downtown Bklyn, Williamsburg
    (-73.9800, 40.6720, 0.7, 0.12), (-73.9440, 40.7470, 0.6, 0.14),  # Park Slope, Long Island City
    (-73.9200, 40.7640, 0.7, 0.10), (-73.8000, 40.7020, 0.8, 0.05),  # Astoria, Jamaica
    (-73.8300, 40.7590, 0.7, 0.05), (-73.9460, 40.8090, 0.7, 0.09),  # Flushing, Harlem
    (-73.9200, 40.8200, 0.8, 0.05),  # the Bronx's Hub and Yankee Stadium
])
PLACE_U, PLACE_V = lonlat_to_grid(PLACES[:, 0], PLACES[:, 1])
OUTER = PLACES[:, 3] / PLACES[:, 3].sum()
AIRPORT_ZONES = np.isin(np.arange(len(PLACES)), (JFK, LGA))
OUTER_ZONES = OUTER > 0


def _trip_table() -> tuple[np.ndarray, np.ndarray]:
    """Where trips start, and where a trip from each place ends (alias tables)."""
    def row(manhattan, jfk, lga, outer, home=None):
        shares = manhattan * (np.arange(len(PLACES)) == MANHATTAN) + outer * OUTER
        shares[JFK] += jfk
        shares[LGA] += lga
        if home is not None:
            shares[home] += 0.45
        return shares
    start = row(0.86, 0.025, 0.035, 0.08)
    ends = [row(0.87, 0.02, 0.03, 0.08), row(0.60, 0.0, 0.02, 0.38), row(0.62, 0.01, 0.0, 0.37)]
    ends += [row(0.40, 0.03, 0.04, 0.08, home=z) for z in range(3, len(PLACES))]
    ends += [row(0.80, 0.06, 0.07, 0.07)]  # EARLY_FLIGHTS: from Manhattan at 4-7 am
    return _alias(start), _alias(ends)


STARTS, ENDS = _trip_table()
EARLY_FLIGHTS = len(PLACES)  # the row of ENDS for Manhattan's early-morning trips


def _on_streets(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of ``n`` points on Manhattan's streets."""
    iu, iv = np.divmod(_draw(rng, MANHATTAN_CELLS, n), NV)
    return U0 + (iu + rng.random(n)) * CELL, V0 + (iv + rng.random(n)) * CELL


def _places(rng, zone) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of one point per zone: on Manhattan's streets, else around the place."""
    u, v = np.empty(len(zone)), np.empty(len(zone))
    grid = zone == MANHATTAN
    u[grid], v[grid] = _on_streets(rng, int(grid.sum()))
    other = zone[~grid]
    u[~grid] = PLACE_U[other] + rng.normal(0, 1, len(other)) * PLACES[other, 2]
    v[~grid] = PLACE_V[other] + rng.normal(0, 1, len(other)) * PLACES[other, 2]
    return u, v


# -- when: the year, the week, the day -----------------------------------------------
DAYS = pd.date_range("2019-01-01", periods=365, freq="D")
# Trips per day by month (2019's summer dip) and by weekday (Mon..Sun).
MONTH_VOLUME = np.array([1.05, 1.07, 1.08, 1.06, 1.04, 0.98, 0.87, 0.83, 0.93, 0.99, 0.98, 0.95])
WEEKDAY_VOLUME = np.array([0.92, 1.0, 1.03, 1.07, 1.07, 1.02, 0.86])
DAY_TABLE = _alias(MONTH_VOLUME[DAYS.month - 1] * WEEKDAY_VOLUME[DAYS.day_of_week])
WEEKDAY = DAYS.day_of_week.to_numpy()
# Pickups per hour, one profile per kind of day: quiet 3-5 am, a morning bump, a
# busy evening; Friday and Saturday nights run late, Sunday evening is quiet.
MIDWEEK = [2.3, 1.3, 0.8, 0.6, 0.6, 1.0, 2.2, 3.9, 4.7, 4.6, 4.4, 4.5,
           4.7, 4.7, 5.0, 5.0, 4.6, 5.3, 6.3, 6.5, 5.9, 5.8, 5.5, 4.2]
HOURS = np.array([
    [1.5, 0.8, 0.5, 0.4, 0.5] + MIDWEEK[5:],  # Monday, after a quiet Sunday night
    MIDWEEK,
    MIDWEEK[:18] + [6.2, 6.3, 5.8, 5.9, 6.3, 6.1],  # Friday
    [5.6, 4.8, 3.9, 3.0, 2.0, 1.0, 0.9, 1.3, 2.0, 2.9, 3.8, 4.5,
     5.0, 5.1, 5.1, 5.1, 5.0, 5.2, 5.7, 5.8, 5.4, 5.4, 6.0, 6.1],  # Saturday
    [5.8, 5.0, 4.1, 3.2, 2.2, 1.1, 0.9, 1.1, 1.8, 2.7, 3.8, 4.6,
     5.1, 5.2, 5.1, 5.0, 4.9, 5.0, 5.0, 4.7, 4.2, 3.9, 3.4, 2.6],  # Sunday
])
HOUR_TABLE = _alias(HOURS)
HOUR_PROFILE = np.array([0, 1, 1, 1, 2, 3, 4])  # Mon..Sun
SPEED_MPH = np.array([13, 14, 15, 16, 17, 16, 13, 10, 8.5, 8, 8, 8,
                      8, 8, 7.8, 7.8, 8, 8, 8.5, 9.5, 11, 11.5, 11.5, 12])  # city streets
CONGESTION_FROM = pd.Timestamp("2019-02-02").value  # New York State's surcharge began then

# -- who and how they pay ------------------------------------------------------------
# Passengers (1..6) on ordinary, late-night and airport trips.
PASSENGER_TABLE = _alias([[0.72, 0.14, 0.04, 0.02, 0.05, 0.03],
                          [0.62, 0.20, 0.06, 0.04, 0.05, 0.03],
                          [0.55, 0.26, 0.07, 0.04, 0.05, 0.03]])
# Share paying cash by group size: groups of four split the fare in cash most often.
CASH_SHARE = np.array([0, 0.26, 0.29, 0.31, 0.38, 0.27, 0.28])
TIP_PRESETS = np.array([0.20, 0.25, 0.30])  # the card screen's buttons
PRESET_TABLE = _alias([[0.62, 0.24, 0.14], [0.34, 0.36, 0.30]])  # by day, late at night
MTA_TAX, IMPROVEMENT, CONGESTION, TOLL, JFK_FARE = 0.5, 0.3, 2.5, 6.12, 52.0


def taxi_partition(index: int, rows: int, seed: int) -> pd.DataFrame:
    """Partition ``index`` of the synthetic trip table: ``rows`` trips."""
    rng = np.random.default_rng([seed, index])
    pickup, weekday, hour = _pickup_times(rng, rows)
    start, end, u, v = _trip_ends(rng, rows, hour)
    # Taxis drive the grid, not the crow's line: blocks along plus blocks across.
    blocks = np.abs(u[rows:] - u[:rows]) + np.abs(v[rows:] - v[:rows])
    distance = np.round(0.1 + blocks / KM_PER_MILE * rng.lognormal(np.log(1.1), 0.08, rows), 2)
    speed = SPEED_MPH[hour] * np.sqrt(1 + distance / 4) * rng.lognormal(0, 0.2, rows)
    minutes = distance / speed * 60 + rng.uniform(0.5, 3, rows)
    dropoff = pickup + (minutes * 60e9).astype("int64")

    # The 2019 meter: $2.50, $2.50 a mile, 50c a minute stuck in traffic, in 50c steps;
    # JFK to or from Manhattan is a flat $52 (rate code 2).
    in_manhattan = (start == MANHATTAN) | (end == MANHATTAN)
    airport = AIRPORT_ZONES[start] | AIRPORT_ZONES[end]
    jfk_flat = in_manhattan & ((start == JFK) | (end == JFK))
    slow = np.clip(1.2 - speed / 12, 0.15, 0.9)
    fare = np.where(jfk_flat, JFK_FARE,
                    np.round((2.5 + 2.5 * distance + 0.5 * minutes * slow) * 2) / 2)
    rush = (weekday < 5) & (hour >= 16) & (hour < 20)
    night = (hour >= 20) | (hour < 6)
    extra = np.where(jfk_flat, 4.5 * rush, 0.5 * night + 1.0 * rush)
    # Tunnels and bridges: most airport runs from Manhattan pay one, few others do.
    toll_chance = np.where(airport & in_manhattan, 0.6,
                           np.where(in_manhattan & (OUTER_ZONES[start] | OUTER_ZONES[end]),
                                    0.15, 0.01))
    tolls = np.where(rng.random(rows) < toll_chance, TOLL, 0.0)
    congestion = np.where(in_manhattan & (pickup >= CONGESTION_FROM), CONGESTION, 0.0)

    late = (hour >= 22) | (hour < 4)
    passengers = 1 + _draw(rng, PASSENGER_TABLE, rows, np.where(airport, 2, late))
    cash = CASH_SHARE[passengers] + 0.10 * OUTER_ZONES[start] - 0.06 * airport
    chance = rng.random(rows)
    payment = np.where(chance < cash, 2, np.select(
        [chance < 0.993, chance < 0.998], [1, 3], 4)).astype("int8")
    tip = _card_tips(rng, fare, fare + extra + MTA_TAX + IMPROVEMENT + congestion,
                     distance, late, OUTER_ZONES[start])
    tip = np.where(payment == 1, tip, 0.0)  # cash tips never reach the records

    lon, lat = grid_to_lonlat(u, v)
    lon, lat = lon.clip(*LON_RANGE), lat.clip(*LAT_RANGE)
    vendor = np.where(rng.random(rows) < np.where(passengers >= 5, 0.03, 0.35), 1, 2)
    ratecode = np.where(jfk_flat, 2, np.where(rng.random(rows) < 0.004, 5, 1))
    frame = pd.DataFrame({
        "VendorID": vendor.astype("int8"),
        "tpep_pickup_datetime": pickup.astype("datetime64[ns]"),
        "tpep_dropoff_datetime": dropoff.astype("datetime64[ns]"),
        "passenger_count": passengers.astype("int8"),
        "trip_distance": distance,
        "pickup_longitude": lon[:rows],
        "pickup_latitude": lat[:rows],
        "dropoff_longitude": lon[rows:],
        "dropoff_latitude": lat[rows:],
        "RatecodeID": ratecode.astype("int8"),
        "payment_type": payment,
        "fare_amount": fare,
        "extra": extra,
        "mta_tax": MTA_TAX,
        "tip_amount": tip,
        "tolls_amount": tolls,
        "improvement_surcharge": IMPROVEMENT,
        "congestion_surcharge": congestion,
    })
    frame["total_amount"] = np.round(
        fare + extra + MTA_TAX + tip + tolls + IMPROVEMENT + congestion, 2)
    return frame


def _pickup_times(rng, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pickup instants (ns since the epoch), their weekdays (Monday 0) and hours."""
    day = _draw(rng, DAY_TABLE, rows)
    weekday = WEEKDAY[day]
    hour = _draw(rng, HOUR_TABLE, rows, HOUR_PROFILE[weekday])
    pickup = YEAR_START + day * DAY_NS + hour * HOUR_NS + rng.integers(0, HOUR_NS, rows)
    return pickup, weekday, hour


def _trip_ends(rng, rows: int, hour) -> tuple[np.ndarray, ...]:
    """Start and end zones, and (u, v) of the pickups then the dropoffs."""
    start = _draw(rng, STARTS, rows)
    early = (start == MANHATTAN) & (hour >= 4) & (hour < 7)
    end = _draw(rng, ENDS, rows, np.where(early, EARLY_FLIGHTS, start))
    u, v = _places(rng, np.concatenate([start, end]))
    # Rides within Manhattan mostly stay in the neighbourhood: of two places the
    # rider might go, they go to the nearer.
    local = np.flatnonzero((start == MANHATTAN) & (end == MANHATTAN))
    there_u, there_v = _on_streets(rng, len(local))
    here_u, here_v = u[local], v[local]
    nearer = (np.abs(there_u - here_u) + np.abs(there_v - here_v)
              < np.abs(u[rows + local] - here_u) + np.abs(v[rows + local] - here_v))
    u[rows + local[nearer]], v[rows + local[nearer]] = there_u[nearer], there_v[nearer]
    return start, end, u, v


def _card_tips(rng, fare, billed, distance, late, outer) -> np.ndarray:
    """What a card rider tips: nothing, a preset button, or an amount of their own."""
    rows = len(fare)
    preset = TIP_PRESETS[_draw(rng, PRESET_TABLE, rows, late)] * billed
    # Typed-in tips run a little lower and shrink on long rides; most are whole dollars.
    own = fare * np.clip(rng.normal(0.16 + 0.05 * late, 0.05, rows), 0.02, 0.5)
    own /= np.sqrt(1 + distance / 20)
    own = np.where(rng.random(rows) < 0.6, np.maximum(1.0, np.round(own)), own)
    chance = rng.random(rows)
    none = 0.06 + 0.08 * outer
    return np.round(np.where(chance < none, 0.0, np.where(chance < none + 0.55, preset, own)), 2)


def taxi_frame(rows: int, seed: int = 0, partition_rows: int = 1_000_000) -> dd.DataFrame:
    """The lazy trip table: exactly ``rows`` rows, one partition per ``partition_rows``."""
    sizes = [partition_rows] * (rows // partition_rows)
    if rows % partition_rows:
        sizes.append(rows % partition_rows)
    meta = taxi_partition(0, 0, seed)
    return dd.from_map(taxi_partition, range(len(sizes)), sizes, [seed] * len(sizes),
                       meta=meta, enforce_metadata=False)


class TaxiDataset(Dataset):
    """Synthetic NYC yellow-taxi trips at any scale."""

    kind = "taxi"
    options = ("rows", "seed")

    name = param.String(default="nyc-taxi")
    # The app suggests the first key: the workshop's mean tip by passenger count.
    groupby = param.List(default=["passenger_count", "payment_type"], item_type=str)
    values = param.List(default=['tip_amount'], item_type=str)
    description = param.String(default=(
        "NYC yellow-taxi trips with the 2019 schema, shaped like the real ones: pickups "
        "along Manhattan's avenues, at JFK, LaGuardia and borough centres; daily and "
        "weekly rhythms; 2019 meter fares with JFK's flat $52; tips that depend on "
        "payment type (cash records none), fare, hour, trip and group size. Seeded and "
        "plausible, not real TLC records."))
    synthetic = param.Boolean(default=True, constant=True)
    target = param.String(default="tip_amount", allow_None=True)
    rows = param.Integer(default=10_000_000, bounds=(1_000_000, 1_000_000_000),
                         doc="Number of trips.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Same rows and seed, same data.")
    partition_rows = param.Integer(default=1_000_000, bounds=(10_000, None),
                                   doc="Trips per partition.")

    def row_count(self) -> int:
        return self.rows

    def to_dask(self) -> dd.DataFrame:
        return taxi_frame(self.rows, self.seed, self.partition_rows)
