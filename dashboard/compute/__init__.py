"""Computations as plain functions over Dask (or pandas) collections; no Panel here."""
