"""Figure 3, CSV vs Parquet: the Group-by tab's same query on the flights CSV shards and on
the Parquet copy (``FlightsDataset.format``), each in its own session."""
from __future__ import annotations

from .harness import Bench, Row, alternate, median, run_button, spread
from tests.views.test_dataset_picker import settled


async def run(bench: Bench) -> list[Row]:
    parquet = await bench.groupby_tab()
    csv = await bench.groupby_tab()
    csv.store.dataset.format = "csv"
    await settled(csv.store)
    times = await alternate(bench.size.runs, {"csv": lambda: run_button(csv),
                                              "parquet": lambda: run_button(parquet)})
    title = parquet.job.title
    same = csv.job.result.round(9).equals(parquet.job.result.round(9))
    return [Row(
        "3", f"CSV vs Parquet: Group-by Run (`{title}`) on the 12 monthly flights CSV shards",
        median(times["csv"]), "s", "the Parquet copy", median(times["parquet"]),
        note=f"CSV {spread(times['csv'])}; Parquet {spread(times['parquet'])}; "
             f"same result: {'yes' if same else 'NO'}")]
