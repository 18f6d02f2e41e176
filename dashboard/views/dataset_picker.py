"""The dataset picker: choose a dataset and its options, see what it holds."""
from __future__ import annotations

import panel as pn
import param
from dask.utils import format_bytes
from panel.viewable import Viewer

from ..datasets import CatalogDataset
from ..datasets.catalog_file import adding_allowed, catalog_path
from ..store import SessionStore
from . import url
from .notify import notify, plain


class DatasetPicker(Viewer):
    """The store's dataset as widgets: the choice, its options, its summary, the forms."""

    store = param.ClassSelector(class_=SessionStore, doc="The session's store.")
    new_name = param.String(default="", doc="Add dataset: its name.")
    new_path = param.String(default="", doc="Add dataset: path, glob or URL of the files.")
    new_format = param.Selector(default="csv", objects=["csv", "parquet"],
                                doc="Add dataset: file format.")
    add = param.Event(doc="Add dataset: read the files, then save them to the catalog.")
    convert = param.Event(doc="Write a Parquet copy of the chosen CSV dataset.")
    busy = param.Boolean(default=False, doc="A form action is running.")

    def __init__(self, **params):
        super().__init__(**params)
        store = self.store
        self._report_problems()
        store.param.watch(self._report_problems, "catalog_problems")
        self._select = pn.widgets.Select.from_param(store.param.dataset_name, label="Dataset",
                                                    sizing_mode="stretch_width")
        self._add_button = pn.widgets.Button.from_param(
            self.param.add, label="Add to catalog", color="primary",
            disabled=self.param.busy)
        self._convert_button = pn.widgets.Button.from_param(
            self.param.convert, label="Convert to Parquet", css_classes=["convert-parquet"],
            disabled=self.param.busy)
        url.sync(store, {"dataset_name": "dataset"}, "dataset")
        self._synced = None
        self._sync_options()
        store.param.watch(self._sync_options, "dataset")

    def _report_problems(self, *_) -> None:
        for problem in self.store.catalog_problems:
            notify(problem, "warning", 0)

    def _sync_options(self, *_) -> None:
        """The chosen dataset's options live in the link too."""
        if self._synced is not None:
            url.unsync(self._synced)
        self._synced = dataset = self.store.dataset
        url.sync(dataset, {o: o for o in dataset.options}, "dataset option")

    @param.depends("store.error", watch=True)
    def _tell_error(self) -> None:
        if self.store.error:
            notify(self.store.error)

    @param.depends("add", watch=True)
    async def add_dataset(self) -> None:
        """Validate the form's dataset by reading it, then save it to the catalog."""
        if not adding_allowed():  # the form is hidden then; the store refuses too
            notify("Adding datasets is turned off on this server "
                   "(workbench.datasets.allow-add).")
            return
        name = self.new_name.strip()
        job = await self._act(self.store.add(name, self.new_path, self.new_format))
        if job.status == "done":
            notify(f"Added dataset '{name}' to {catalog_path()}.", "success", 4000)
            self.param.update(new_name="", new_path="")

    @param.depends("convert", watch=True)
    async def convert_dataset(self) -> None:
        """Write a Parquet copy of a CSV catalog dataset on the cluster, and switch to it."""
        if not adding_allowed():  # it writes files and adds a catalog entry: an Add too
            notify("Converting to Parquet adds a dataset, which is turned off on this "
                   "server (workbench.datasets.allow-add).")
            return
        job = await self._act(self.store.convert())
        if job.status == "done":
            notify(f"Parquet copy written: {job.result.path}", "success", 4000)

    async def _act(self, action):
        """Run a form action with its buttons disabled; a failure becomes one sentence."""
        self.busy = True
        try:
            job = await action
        finally:
            self.busy = False
        if job.status != "done":
            notify(job.error)
        return job

    # -- rendering ---------------------------------------------------------

    @param.depends("store.dataset")
    def _options(self):
        dataset = self.store.dataset
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

    @param.depends("store.summary", "store.error", "store.loading")
    def _stats(self):
        store = self.store
        if store.loading:
            return pn.indicators.LoadingSpinner(value=True, size=24,
                                                label="Reading the first partition…")
        if store.error:
            return pn.pane.Alert(plain(store.error), alert_type="danger",
                                 css_classes=["dataset-error"])
        summary = store.summary
        if summary is None:
            return pn.Spacer()
        approx = "" if summary.exact else "≈ "
        return pn.pane.Markdown(
            f"**Partitions** {summary.npartitions} · **Columns** {len(summary.columns)}  \n"
            f"**Rows** {approx}{summary.rows_estimate:,} · "
            f"**In memory** {approx}{format_bytes(summary.bytes_estimate)}",
            css_classes=["dataset-stats"], margin=(0, 5))

    @param.depends("store.summary")
    def preview(self):
        """Schema and first rows, for the main area."""
        summary = self.store.summary
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
            title=f"{plain(self.store.dataset_name)}: first rows", collapsed=False,
            sizing_mode="stretch_width",
        )

    @param.depends("store.dataset")
    def _convert(self):
        dataset = self.store.dataset
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
