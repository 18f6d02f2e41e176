"""Datasets the app offers: built-in (real and synthetic) and the user's catalog."""
from __future__ import annotations

from .base import Dataset, DatasetError
from .catalog import CatalogDataset
from .catalog_file import catalog_path, load_catalog
from .classification import ClassificationDataset
from .flights import FlightsDataset
from .taxi import TaxiDataset
from .timeseries import TimeseriesDataset

BUILTIN = (FlightsDataset, TaxiDataset, TimeseriesDataset, ClassificationDataset)


def load_datasets() -> tuple[dict[str, Dataset], list[str]]:
    """Fresh instances of every dataset (options are per session), and catalog problems.

    A catalog entry that is broken or reuses a built-in name is reported, never
    allowed to hide the others.
    """
    datasets: dict[str, Dataset] = {}
    for cls in BUILTIN:
        dataset = cls()
        datasets[dataset.name] = dataset
    entries, errors = load_catalog(catalog_path())
    for name, dataset in entries.items():
        if name in datasets:
            errors.append(f"Catalog dataset '{name}' has the name of a built-in dataset; "
                          "rename it in the catalog.")
            continue
        datasets[name] = dataset
    return datasets, errors


__all__ = ["BUILTIN", "CatalogDataset", "Dataset", "DatasetError", "catalog_path",
           "load_datasets"]
