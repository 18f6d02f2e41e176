"""The Model search tab's form: the grid editor, what an empty entry means, the seed presets.

Every candidate is the estimator with its fixed settings (``SVC(gamma='auto',
probability=True, random_state=0)``) and one combination of the grid's values; a
parameter left empty keeps the fixed setting or scikit-learn's default, and the
editor shows which, so the numbers can be reproduced outside the app.
"""
from __future__ import annotations

import panel as pn
import param

from ..compute.estimators import ESTIMATORS, EstimatorKind
from ..compute.search import SEED_LARGE_GRID, SEED_SMALL_GRID
from ..compute.search_data import default_features
from . import model_search_link as link
from .text_choice import TextChoice

SEED_DATASET = "classification"
SEED_SMALL, SEED_LARGE = "Seed small grid (2 × 2)", "Seed large grid (36 candidates)"
PRESETS = {SEED_SMALL: SEED_SMALL_GRID, SEED_LARGE: SEED_LARGE_GRID}
# The view's event for each preset's button.
SEED_EVENTS = {"seed_small_clicked": SEED_SMALL, "seed_large_clicked": SEED_LARGE}
# The view's events as buttons: label, colour and variant. The presets fill in the
# form: outlined buttons, not plain text.
BUTTONS = {
    "run_clicked": ("Run search", "primary", "solid"),
    "compare_clicked": ("Compare with local", "default", "solid"),
    "cancel_clicked": ("Cancel", "warning", "solid"),
    "confirm_clicked": ("Run anyway", "danger", "solid"),
    **{event: (label, "primary", "outline") for event, label in SEED_EVENTS.items()},
}

HINTS = {
    "real": "Numbers separated by commas, or logspace(-3, 1, 5) / linspace(0, 1, 5).",
    "integer": "Whole numbers separated by commas, None, or range(1, 10, 2).",
    "mixed": "Numbers or words (as scikit-learn allows) separated by commas.",
}


def grid_form(kind: EstimatorKind) -> param.Parameterized:
    """A Parameterized holding the grid editor's entries for one estimator, one param each."""
    params = {}
    for hyper in kind.hypers:
        if hyper.kind in ("choice", "boolean"):
            params[hyper.name] = param.ListSelector(
                default=link.default_entry(hyper), objects=kind.choices(hyper.name),
                doc=f"Values of {hyper.name} to try; none: {_unsearched(kind, hyper.name)}.")
        else:
            params[hyper.name] = param.String(default=link.default_entry(hyper),
                                              doc=HINTS[hyper.kind])
    return param.parameterized_class(f"{kind.name}Grid", params)(name=f"{kind.name} grid")


def grid_editor(kind: EstimatorKind, form: param.Parameterized) -> pn.Param:
    """The entries as widgets; an empty one shows the value every candidate keeps."""
    widgets = {}
    for hyper in kind.hypers:
        # Choices and booleans alike: pick the values to try (labelled, unlike button groups).
        widget = pn.widgets.MultiChoice if hyper.kind in ("choice", "boolean") else \
            pn.widgets.TextInput
        widgets[hyper.name] = {"type": widget,
                               "placeholder": f"not searched: {_unsearched(kind, hyper.name)}"}
    return pn.Param(form, widgets=widgets, show_name=False, sizing_mode="stretch_width",
                    css_classes=["search-grid"])


def fixed_settings(kind: EstimatorKind) -> str:
    """The estimator's settings that are not scikit-learn's defaults, as a Markdown line."""
    if not kind.fixed:
        return (f"**Fixed settings:** none; every candidate is `{kind.code()}` with "
                "scikit-learn's defaults but for the grid's values.")
    settings = " · ".join(f"`{k}={v!r}`" for k, v in kind.fixed.items())
    return (f"**Fixed settings** of every candidate: {settings}. A grid entry for one "
            "of them searches it instead.")


def entry(kind: str, values: list):
    """A grid editor entry for ``values``: the list for choices, text for numbers."""
    if kind in ("choice", "boolean"):
        return list(values)
    return ", ".join(str(v) for v in values)


def _unsearched(kind: EstimatorKind, name: str) -> str:
    value = kind.unsearched(name)
    where = "fixed" if name in kind.fixed else "scikit-learn's default"
    return f"{value!r} ({where})"


def seed_data(store) -> None:
    """Pick the seed's data: make_classification(10000, 4, random_state=0)."""
    if store.dataset_name != SEED_DATASET:
        store.dataset_name = SEED_DATASET
    dataset = store.dataset
    dataset.param.update({o: dataset.param[o].default for o in dataset.options})


def apply_seed(view, preset: str) -> bool:
    """The seed's search on ``view``: SVC on every row, cv=2, none held out, the grid of
    ``preset``; whether that is done (False: apply it again once the columns are known).

    The dataset's columns arrive from the cluster before or after the click. What
    needs them is set once they are known, and everything else is set again then,
    so nothing a new schema picks by default can undo the seed's settings.
    """
    store = view.store
    if store.dataset_name != SEED_DATASET:
        return True  # other data was chosen meanwhile: nothing left to do
    # The store drops the summary on any change, so one here is the seed data's.
    summary, target = store.summary, store.dataset.target
    if summary is not None and target in summary.columns:
        view.param.update(target=target, features=default_features(summary.columns, target))
    view.estimator = "SVC"  # first: it decides which scorings there are
    view.param.update(cv=2, scoring="accuracy", holdout=0.0, rows=0, encode=False,
                      dropna=True, question="", error="")
    kind, grid = ESTIMATORS["SVC"], PRESETS[preset]
    view.grid.param.update({h.name: entry(h.kind, grid.get(h.name, [])) for h in kind.hypers})
    return summary is not None


def css_class(label: str) -> str:
    """A button's CSS class, from its label: 'Run search' → 'search-run-search'."""
    return "search-" + "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-")


def button(view, event: str) -> pn.widgets.Button:
    """The button that sends ``view``'s ``event``; only Cancel is offered while it is busy."""
    label, color, variant = BUTTONS[event]
    busy = view.param.busy
    return pn.widgets.Button.from_param(
        view.param[event], label=label, color=color, variant=variant,
        css_classes=[css_class(label)],
        disabled=busy.rx.not_() if event == "cancel_clicked" else busy)


def controls(view, progress: pn.viewable.Viewable, messages) -> pn.Column:
    """The tab's form: data and estimator choices, the seed presets, the grid, Run; then
    the run's ``progress`` and ``messages``."""
    return pn.Column(
        pn.Row(pn.widgets.Select.from_param(view.param.estimator, name="Estimator", width=230),
               pn.widgets.IntInput.from_param(view.param.cv, name="CV folds", width=100),
               pn.widgets.Select.from_param(view.param.scoring, name="Scoring", width=170),
               pn.widgets.FloatInput.from_param(view.param.holdout, name="Held-out share",
                                                width=120)),
        pn.Row(pn.widgets.Select.from_param(view.param.target, name="Target", width=200),
               TextChoice.from_param(view.param.features, name="Features",
                                     sizing_mode="stretch_width")),
        pn.Row(pn.widgets.IntInput.from_param(view.param.rows, name="Rows to search (0: all)",
                                              width=170, step=1000),
               pn.Column(pn.widgets.Checkbox.from_param(
                   view.param.dropna, name="Drop rows with missing values"),
                   pn.widgets.Checkbox.from_param(
                       view.param.encode, name="Encode categorical features (one-hot)"))),
        pn.Row(*(button(view, event) for event in SEED_EVENTS)),
        pn.pane.Markdown("**Grid** — values to try per parameter; a parameter left empty "
                         "is not searched and keeps the value shown in it.",
                         margin=(10, 5, 0, 5)),
        pn.pane.Markdown(view.param.estimator.rx.pipe(
            lambda name: fixed_settings(ESTIMATORS[name])),
            css_classes=["search-fixed"], margin=(0, 5)),
        pn.bind(lambda grid: grid_editor(ESTIMATORS[view.estimator], grid), view.param.grid),
        pn.Row(*(button(view, event) for event in
                 ("run_clicked", "cancel_clicked", "compare_clicked"))),
        progress, messages,
        sizing_mode="stretch_width")
