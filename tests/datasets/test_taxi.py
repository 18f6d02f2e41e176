"""The synthetic taxi trips teach something: each relationship a workshop query looks
for is built in, and each test here fails on data without it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.datasets.taxi import TaxiDataset, taxi_frame, taxi_partition

# Manhattan's street grid, stated here independently of the generator: avenues run
# 29 degrees east of true north; the frame is centred on 5th Avenue & 42nd Street.
GRID_ORIGIN, GRID_BEARING = (-73.9810, 40.7532), np.radians(29.0)
KM_PER_DEGREE = (84.35, 110.95)  # longitude, latitude at 40.75 N
JFK, LGA = (-73.7840, 40.6440), (-73.8726, 40.7738)
SCHEMA = ["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count",
          "trip_distance", "pickup_longitude", "pickup_latitude", "dropoff_longitude",
          "dropoff_latitude", "RatecodeID", "payment_type", "fare_amount", "extra", "mta_tax",
          "tip_amount", "tolls_amount", "improvement_surcharge", "congestion_surcharge",
          "total_amount"]


@pytest.fixture(scope="module")
def trips() -> pd.DataFrame:
    return taxi_frame(400_000, seed=0, partition_rows=200_000).compute(scheduler="sync")


def km(lon, lat, origin=GRID_ORIGIN):
    """East and north of ``origin``, in km."""
    return ((np.asarray(lon) - origin[0]) * KM_PER_DEGREE[0],
            (np.asarray(lat) - origin[1]) * KM_PER_DEGREE[1])


def grid(lon, lat, bearing=GRID_BEARING):
    """(along the avenues, across them) in km."""
    east, north = km(lon, lat)
    return (east * np.sin(bearing) + north * np.cos(bearing),
            east * np.cos(bearing) - north * np.sin(bearing))


def in_manhattan(along, across):
    """Battery to 110th Street, Hudson to East River, as a box in the grid's frame."""
    return (along > -6.5) & (along < 5.6) & (across > -2.2) & (across < 2.4)


def line_share(across) -> float:
    """Share of points in the densest fifth of 25 m strips: high when points lie on lines."""
    counts = np.histogram(across, bins=np.arange(-2.2, 2.4, 0.025))[0]
    return np.sort(counts)[::-1][:len(counts) // 5].sum() / counts.sum()


def card_tip_share(trips):
    card = trips[trips.payment_type == 1]
    return card, card.tip_amount / card.fare_amount


# -- tips ------------------------------------------------------------------------

def test_tips_depend_on_payment_type(trips):
    means = trips.groupby("payment_type").tip_amount.mean()
    assert means[2] == 0 and means[1] > 2.0  # cash tips never reach the records
    assert 0.6 < (trips.payment_type == 1).mean() < 0.8
    card = trips[trips.payment_type == 1]
    assert 0.85 < (card.tip_amount > 0).mean() < 0.99  # some card riders tip nothing


def test_card_tips_cluster_on_the_preset_buttons(trips):
    card = trips[trips.payment_type == 1]
    billed = card[["fare_amount", "extra", "mta_tax", "improvement_surcharge",
                   "congestion_surcharge"]].sum(axis=1)
    share = card.tip_amount / billed
    on_a_button = np.isclose(share.to_numpy()[:, None], [0.20, 0.25, 0.30], atol=0.003)
    assert on_a_button.any(axis=1).mean() > 0.4
    assert 0.15 < share[card.tip_amount > 0].median() < 0.3


def test_mean_tip_by_passenger_count_shows_a_difference(trips):
    means = trips.groupby("passenger_count").tip_amount.mean()
    assert list(means.index) == [1, 2, 3, 4, 5, 6]
    assert means.max() - means.min() > 0.1
    shares = trips.passenger_count.value_counts(normalize=True)
    assert shares[1] > 0.6 and shares[2] > shares[3]


def test_tips_grow_with_the_fare_and_late_at_night(trips):
    card, share = card_tip_share(trips)
    assert np.corrcoef(card.fare_amount, card.tip_amount)[0, 1] > 0.6
    hour = card.tpep_pickup_datetime.dt.hour
    late, day = share[(hour >= 22) | (hour < 4)], share[(hour >= 9) & (hour < 17)]
    assert late.mean() > day.mean() + 0.02


# -- fares -----------------------------------------------------------------------

def test_fares_follow_the_meter_and_jfks_flat_fare(trips):
    metered = trips[trips.RatecodeID == 1]
    assert (metered.fare_amount * 2 % 1 == 0).all()  # the meter ticks in 50c steps
    assert (metered.fare_amount >= 2.5 + 2.5 * metered.trip_distance - 0.5).all()
    flat = trips[trips.RatecodeID == 2]
    assert len(flat) > 0.01 * len(trips) and (flat.fare_amount == 52).all()
    # One end of every flat-fare trip is at JFK.
    ends = [np.hypot(*km(flat[f"{end}_longitude"], flat[f"{end}_latitude"], JFK))
            for end in ("pickup", "dropoff")]
    assert (np.minimum(*ends) < 3).all()
    parts = trips[["fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
                   "improvement_surcharge", "congestion_surcharge"]].sum(axis=1)
    assert np.allclose(parts, trips.total_amount, atol=0.011)


def test_trip_distance_follows_pickup_and_dropoff(trips):
    east = km(trips.dropoff_longitude, trips.dropoff_latitude)[0] - km(
        trips.pickup_longitude, trips.pickup_latitude)[0]
    north = km(trips.dropoff_longitude, trips.dropoff_latitude)[1] - km(
        trips.pickup_longitude, trips.pickup_latitude)[1]
    crow_miles = np.hypot(east, north) / 1.609
    assert np.corrcoef(crow_miles, trips.trip_distance)[0, 1] > 0.9
    assert (trips.trip_distance >= 0.95 * crow_miles).mean() > 0.99  # taxis don't fly
    assert 1.2 < trips.trip_distance.median() < 3.0
    minutes = (trips.tpep_dropoff_datetime - trips.tpep_pickup_datetime).dt.total_seconds() / 60
    assert (minutes > 0).all() and 6 < minutes.median() < 20


# -- where -----------------------------------------------------------------------

def test_pickups_line_manhattans_avenues_not_round_blobs(trips):
    along, across = grid(trips.pickup_longitude, trips.pickup_latitude)
    manhattan = in_manhattan(along, across)
    assert manhattan.mean() > 0.75
    along, across = along[manhattan], across[manhattan]
    # Spread up the island from the Battery towards 110th Street...
    low, high = np.percentile(along, [5, 95])
    assert high - low > 6 and low < -3 and high > 2
    # ... on lines 29 degrees east of north: the same points seen north-south blur.
    assert line_share(across) > 0.5
    assert line_share(grid(trips.pickup_longitude[manhattan],
                           trips.pickup_latitude[manhattan], 0.0)[1]) < line_share(across) - 0.15


def test_dropoffs_are_places_too(trips):
    along, across = grid(trips.dropoff_longitude, trips.dropoff_latitude)
    assert in_manhattan(along, across).mean() > 0.75
    assert line_share(across[in_manhattan(along, across)]) > 0.5


def test_the_airports_and_the_boroughs_have_their_share(trips):
    for airport, share in ((JFK, 0.015), (LGA, 0.02)):
        near = np.hypot(*km(trips.pickup_longitude, trips.pickup_latitude, airport)) < 1.5
        assert share < near.mean() < 0.1
    along, across = grid(trips.pickup_longitude, trips.pickup_latitude)
    assert 0.03 < (~in_manhattan(along, across)).mean() < 0.25
    assert trips.pickup_longitude.between(-74.05, -73.75).all()
    assert trips.dropoff_latitude.between(40.60, 40.90).all()


# -- when ------------------------------------------------------------------------

def test_pickup_hours_have_a_daily_rhythm(trips):
    per_hour = trips.tpep_pickup_datetime.dt.hour.value_counts().reindex(range(24))
    assert per_hour[4] < 0.3 * per_hour[19]
    assert per_hour[8] > 2 * per_hour[5]  # the morning bump
    assert per_hour.idxmax() in range(17, 23)


def test_weekends_are_shaped_differently(trips):
    when = trips.tpep_pickup_datetime
    weekend = when.dt.day_of_week >= 5
    small_hours = when.dt.hour < 4
    assert small_hours[weekend].mean() > 2 * small_hours[~weekend].mean()
    eight = when.dt.hour == 8
    assert eight[~weekend].mean() > 1.5 * eight[weekend].mean()
    assert when.dt.year.eq(2019).all() and when.dt.month.nunique() == 12


# -- the frame -------------------------------------------------------------------

def test_same_partition_same_trips_else_different():
    a, b = taxi_partition(3, 5_000, 7), taxi_partition(3, 5_000, 7)
    pd.testing.assert_frame_equal(a, b)
    for other in (taxi_partition(4, 5_000, 7), taxi_partition(3, 5_000, 8)):
        assert not np.allclose(other.pickup_longitude, a.pickup_longitude)
        assert not other.tpep_pickup_datetime.equals(a.tpep_pickup_datetime)


def test_the_lazy_frame_keeps_the_2019_schema_and_its_meta():
    ddf = taxi_frame(30_000, seed=1, partition_rows=20_000)
    assert list(ddf.columns) == SCHEMA
    computed = ddf.partitions[1].compute(scheduler="sync")
    pd.testing.assert_series_equal(computed.dtypes, ddf.dtypes)
    assert len(computed) == 10_000 and taxi_partition(0, 0, 1).empty
    assert TaxiDataset().synthetic and TaxiDataset().groupby[0] == "passenger_count"
