"""The dataset picker: choose a dataset and its options, see what it holds."""
from __future__ import annotations

import asyncio

import panel as pn
import param
from dask.utils import format_bytes
from panel.viewable import Viewer

from ..cluster import ClusterManager, ClusterUnavailable
from ..datasets import BUILTIN, CatalogDataset, Dataset, DatasetError, catalog_path, load_datasets
from ..datasets.catalog import convert_to_parquet
from ..datasets.catalog_file import add_to_catalog, adding_allowed
from ..datasets.errors import explain
from ..datasets.summary import DatasetSummary, summarize
from . import url
from .notify import notify, plain
from .session import in_server_session, on_this_document, when_ready

DEFAULT_DATASET = "nyc-flights"
BUILTIN_NAMES = [cls.param.name.default for cls in BUILTIN]


class DatasetPicker(Viewer):
    """Every other view reads ``dataset``; the picker keeps it and its summary."""

    manager = param.ClassSelector(class_=ClusterManager, doc="The shared cluster connection.")
    dataset_name = param.Selector(default=None, objects=[], check_on_set=True,
                                  doc="Name of the chosen dataset.")
    dataset = param.ClassSelector(class_=Dataset, doc="The chosen dataset with its options.")
    summary = param.ClassSelector(class_=DatasetSummary, default=None, allow_None=True,
                                  doc="Schema, partitions, size and first rows.")
    error = param.String(default="", doc="Why the chosen dataset cannot be read, for the user.")
    loading = param.Boolean(default=False, doc="A summary is being computed.")
    new_name = param.String(default="", doc="Add dataset: its name.")
    new_path = param.String(default="", doc="Add dataset: path, glob or URL of the files.")
    new_format = param.Selector(default="csv", objects=["csv", "parquet"],
                                doc="Add dataset: file format.")

    def __init__(self, **params):
        super().__init__(**params)
        self._refreshes = 0  # a newer choice supersedes an older, slower summary
        self.reload()
        self._select = pn.widgets.Select.from_param(self.param.dataset_name, label="Dataset",
                                                    sizing_mode="stretch_width")
        self._add_button = pn.widgets.Button(label="Add to catalog", color="primary")
        self._add_button.on_click(self.add_dataset)
        self._convert_button = pn.widgets.Button(label="Convert to Parquet",
                                                 css_classes=["convert-parquet"])
        self._convert_button.on_click(self.convert)
        url.sync(self, {"dataset_name": "dataset"}, "dataset")
        # A summary that failed for want of a cluster is read again once it is back.
        watcher = self.manager.param.watch(on_this_document(self._on_cluster), "status")
        if in_server_session():
            pn.state.on_session_destroyed(lambda ctx: self.manager.param.unwatch(watcher))

    def _on_cluster(self, event) -> None:
        if event.new == "connected" and self.summary is None and not self.loading:
            self._schedule_refresh()

    def reload(self, select: str | None = None) -> None:
        """Re-read the catalog; report its problems; keep or set the selection."""
        self._datasets, problems = load_datasets()
        for problem in problems:
            notify(problem, "warning", 0)
        self.catalog_problems = problems
        names = list(self._datasets)
        self.param.dataset_name.objects = names
        current = select or self.dataset_name
        self.dataset_name = current if current in names else (
            DEFAULT_DATASET if DEFAULT_DATASET in names else names[0])
        self._on_choice()

    @param.depends("dataset_name", watch=True)
    def _on_choice(self) -> None:
        dataset = self._datasets.get(self.dataset_name)
        if dataset is None or dataset is self.dataset:
            return
        if self.dataset is not None:
            self.dataset.param.unwatch(self._options_watcher)
            url.unsync(self.dataset)
        url.sync(dataset, {o: o for o in dataset.options}, "dataset option")
        self.dataset = dataset
        self._options_watcher = dataset.param.watch(
            lambda *_: self._schedule_refresh(), list(dataset.options))
        self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        # The old summary no longer describes the choice: drop it at once.
        self.param.update(loading=True, summary=None, error="")
        when_ready(self.refresh)

    async def refresh(self) -> None:
        """Summarise the chosen dataset on the cluster (one partition).

        A refresh while the same summary is on its way joins it rather than reading
        again: ``summarize`` shares work in flight through the one cache.
        """
        self._refreshes += 1
        await self._summarise(self._refreshes, self.dataset)

    async def _summarise(self, token: int, dataset: Dataset) -> None:
        self.loading, self.error = True, ""
        try:
            # Building may write the built-in files on first use: keep it off the loop.
            ddf = await asyncio.to_thread(dataset.to_dask)
            count = await asyncio.to_thread(dataset.row_count)
            client = await self.manager.get_client()
            summary = await self.manager.on_client_loop(summarize(client, ddf, count=count))
        except (DatasetError, ClusterUnavailable) as e:
            summary, error = None, str(e)
        except Exception as e:  # a read failing on a worker: say what and where
            summary, error = None, str(explain(e, dataset))
        else:
            error = ""
        if token != self._refreshes:
            return
        self.param.update(summary=summary, error=error, loading=False)
        if error:
            notify(error)

    async def summary_ready(self, timeout: float) -> DatasetSummary | None:
        """The summary, waiting (bounded) while it is being read; None if it is not
        there by then (an action must then refuse: its size checks need it)."""
        if self.summary is not None or not self.loading:
            return self.summary
        loop = asyncio.get_running_loop()
        arrived = loop.create_future()

        def on_change(*_):
            if self.summary is not None or not self.loading:
                loop.call_soon_threadsafe(lambda: arrived.done() or arrived.set_result(None))
        watcher = self.param.watch(on_change, ["summary", "loading"])
        try:
            await asyncio.wait_for(arrived, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self.param.unwatch(watcher)
        return self.summary

    async def add_dataset(self, event=None) -> None:
        """Validate the form's dataset by reading it, then save it to the catalog."""
        if not adding_allowed():  # the form is hidden then; refuse any other way in too
            notify("Adding datasets is turned off on this server "
                   "(workbench.datasets.allow-add).")
            return
        name = self.new_name.strip()
        entry = {"path": self.new_path.strip(), "format": self.new_format}

        async def add():
            candidate = CatalogDataset(name=name or "new", **entry)
            ddf = await asyncio.to_thread(candidate.to_dask)
            await self.manager.on_client_loop(summarize(await self.manager.get_client(), ddf))
            await asyncio.to_thread(add_to_catalog, catalog_path(), name, entry,
                                    reserved=BUILTIN_NAMES)

        if await self._act(self._add_button, add):
            notify(f"Added dataset '{name}' to {catalog_path()}.", "success", 4000)
            self.param.update(new_name="", new_path="")
            self.reload(select=name)

    async def convert(self, event=None) -> None:
        """Write a Parquet copy of a CSV catalog dataset on the cluster, and switch to it."""
        if not adding_allowed():  # it writes files and adds a catalog entry: an Add too
            notify("Converting to Parquet adds a dataset, which is turned off on this "
                   "server (workbench.datasets.allow-add).")
            return
        converted = None

        async def write():
            nonlocal converted
            written, converted = await asyncio.to_thread(convert_to_parquet, self.dataset)
            client = await self.manager.get_client()

            async def compute():  # made and awaited on the client's own loop
                return await client.compute(written)
            await self.manager.on_client_loop(compute())
            await asyncio.to_thread(add_to_catalog, catalog_path(), converted.name,
                                    {"path": converted.path, "format": "parquet"},
                                    reserved=BUILTIN_NAMES)

        if await self._act(self._convert_button, write):
            notify(f"Parquet copy written: {converted.path}", "success", 4000)
            self.reload(select=converted.name)

    async def _act(self, button, action) -> bool:
        """Run a form action with its button disabled; failures become one sentence."""
        button.disabled = True
        try:
            await action()
            return True
        except (DatasetError, ClusterUnavailable, ValueError) as e:
            notify(str(e))
        except Exception as e:  # raised by a worker while reading: say what and where
            notify(str(explain(e, self.dataset)))
        finally:
            button.disabled = False
        return False

    # -- rendering ---------------------------------------------------------

    @param.depends("dataset")
    def _options(self):
        dataset = self.dataset
        if dataset is None:
            return pn.Spacer()
        widgets = {name: {"type": pn.widgets.IntInput}
                   for name in dataset.options
                   if isinstance(dataset.param[name], param.Integer)}
        badge = ("**Synthetic data**, generated on the workers. " if dataset.synthetic else "")
        return pn.Column(
            pn.pane.Markdown(f"{badge}{plain(dataset.description)}",
                             css_classes=["dataset-description"],
                             margin=(0, 5)),
            pn.Param(dataset, parameters=list(dataset.options), widgets=widgets,
                     show_name=False, sizing_mode="stretch_width",
                     css_classes=["dataset-options"]) if dataset.options else None,
            sizing_mode="stretch_width",
        )

    @param.depends("summary", "error", "loading")
    def _stats(self):
        if self.loading:
            return pn.indicators.LoadingSpinner(value=True, size=24, label="Reading the first partition…")
        if self.error:
            return pn.pane.Alert(plain(self.error), alert_type="danger",
                                 css_classes=["dataset-error"])
        summary = self.summary
        if summary is None:
            return pn.Spacer()
        approx = "" if summary.exact else "≈ "
        return pn.pane.Markdown(
            f"**Partitions** {summary.npartitions} · **Columns** {len(summary.columns)}  \n"
            f"**Rows** {approx}{summary.rows_estimate:,} · "
            f"**In memory** {approx}{format_bytes(summary.bytes_estimate)}",
            css_classes=["dataset-stats"], margin=(0, 5))

    @param.depends("summary")
    def preview(self):
        """Schema and first rows, for the main area."""
        summary = self.summary
        if summary is None:
            return pn.Spacer()
        # Column names come from the files: shown as text (a code span would not escape a `).
        schema = " · ".join(f"**{plain(name)}** {dtype}"
                            for name, dtype in summary.columns.items())
        return pn.Card(
            pn.pane.Markdown(schema, css_classes=["dataset-schema"]),
            pn.pane.DataFrame(summary.head, index=False, sizing_mode="stretch_width",
                              css_classes=["dataset-head"], max_rows=10),
            # A Card's title is put into the page as HTML.
            title=f"{plain(self.dataset_name)}: first rows", collapsed=False,
            sizing_mode="stretch_width",
        )

    @param.depends("dataset")
    def _convert(self):
        dataset = self.dataset
        csv = isinstance(dataset, CatalogDataset) and dataset.format == "csv"
        return self._convert_button if csv and adding_allowed() else None

    def _add_form(self):
        if not adding_allowed():
            return None
        return pn.Card(
            pn.widgets.TextInput.from_param(self.param.new_name, label="Name",
                                            css_classes=["new-name"]),
            pn.widgets.TextInput.from_param(self.param.new_path, label="Path, glob or URL",
                                            placeholder="data/sales/*.csv",
                                            css_classes=["new-path"]),
            pn.widgets.Select.from_param(self.param.new_format, label="Format"),
            self._add_button,
            title="Add dataset", collapsed=True, sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Card(self._select, self._options, self._stats, self._convert,
                       self._add_form(), title="Dataset", collapsible=False,
                       sizing_mode="stretch_width")
