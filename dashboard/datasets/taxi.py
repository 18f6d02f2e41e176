"""NYC taxi (synthetic): 2019 yellow-taxi trips generated partition by partition on the workers.

Any size from 1e6 to 1e9 rows, nothing written to disk: this is how a laptop
user meets larger-than-memory work. Each partition draws from its own seeded
generator, so the same size and seed give the same data on any worker.
"""
from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import param

from .base import Dataset

YEAR_START = pd.Timestamp("2019-01-01").value
YEAR_NS = pd.Timedelta(days=365).value
# Trip origins cluster around Manhattan, JFK and LaGuardia (lon, lat, weight).
HOTSPOTS = np.array([(-73.985, 40.758, 0.75), (-73.779, 40.641, 0.1), (-73.872, 40.774, 0.15)])
LON_RANGE, LAT_RANGE = (-74.05, -73.75), (40.60, 40.90)


def taxi_partition(index: int, rows: int, seed: int) -> pd.DataFrame:
    """Partition ``index`` of the synthetic trip table: ``rows`` trips."""
    rng = np.random.default_rng([seed, index])
    distance = np.round(rng.lognormal(0.5, 0.8, rows).clip(0.1, 60), 2)
    minutes = distance * rng.uniform(2.5, 6.0, rows) + rng.uniform(1, 5, rows)
    pickup = YEAR_START + rng.integers(0, YEAR_NS, rows)
    dropoff = pickup + (minutes * 60e9).astype("int64")
    hotspot = rng.choice(len(HOTSPOTS), rows, p=HOTSPOTS[:, 2])
    pickup_lon = HOTSPOTS[hotspot, 0] + rng.normal(0, 0.02, rows)
    pickup_lat = HOTSPOTS[hotspot, 1] + rng.normal(0, 0.02, rows)
    angle = rng.uniform(0, 2 * np.pi, rows)
    step = distance / 69.0  # miles to degrees, roughly
    dropoff_lon = pickup_lon + np.cos(angle) * step
    dropoff_lat = pickup_lat + np.sin(angle) * step
    payment = rng.choice([1, 2, 3, 4], rows, p=[0.70, 0.28, 0.01, 0.01]).astype("int8")
    fare = np.round(2.5 + 2.5 * distance + 0.5 * minutes, 2)
    # Card riders tip 15-25% of the fare; cash tips are not recorded.
    tip = np.where(payment == 1, np.round(fare * rng.uniform(0.15, 0.25, rows), 2), 0.0)
    extra = rng.choice([0.0, 0.5, 1.0], rows, p=[0.5, 0.3, 0.2])
    tolls = np.where(rng.random(rows) < 0.05, 6.12, 0.0)
    mta_tax, surcharge, congestion = 0.5, 0.3, 2.5
    frame = pd.DataFrame({
        "VendorID": rng.choice([1, 2], rows, p=[0.35, 0.65]).astype("int8"),
        "tpep_pickup_datetime": pd.to_datetime(pickup),
        "tpep_dropoff_datetime": pd.to_datetime(dropoff),
        "passenger_count": rng.choice(np.arange(1, 7), rows,
                                      p=[0.71, 0.14, 0.04, 0.02, 0.06, 0.03]).astype("int8"),
        "trip_distance": distance,
        "pickup_longitude": pickup_lon.clip(*LON_RANGE),
        "pickup_latitude": pickup_lat.clip(*LAT_RANGE),
        "dropoff_longitude": dropoff_lon.clip(*LON_RANGE),
        "dropoff_latitude": dropoff_lat.clip(*LAT_RANGE),
        "RatecodeID": rng.choice([1, 2, 5], rows, p=[0.97, 0.02, 0.01]).astype("int8"),
        "payment_type": payment,
        "fare_amount": fare,
        "extra": extra,
        "mta_tax": mta_tax,
        "tip_amount": tip,
        "tolls_amount": tolls,
        "improvement_surcharge": surcharge,
        "congestion_surcharge": congestion,
    })
    frame["total_amount"] = np.round(fare + extra + mta_tax + tip + tolls + surcharge + congestion, 2)
    return frame


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
    groupby = param.List(default=['passenger_count'], item_type=str)
    values = param.List(default=['tip_amount'], item_type=str)
    description = param.String(default=(
        "NYC yellow-taxi trips with the 2019 schema and plausible "
        "distributions (tips depend on fare and payment type)."))
    synthetic = param.Boolean(default=True, constant=True)
    target = param.String(default="tip_amount", allow_None=True)
    groupby = param.List(default=["passenger_count", "payment_type"], item_type=str)
    rows = param.Integer(default=10_000_000, bounds=(1_000_000, 1_000_000_000),
                         doc="Number of trips.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Same rows and seed, same data.")
    partition_rows = param.Integer(default=1_000_000, bounds=(10_000, None),
                                   doc="Trips per partition.")

    def to_dask(self) -> dd.DataFrame:
        return taxi_frame(self.rows, self.seed, self.partition_rows)
