"""The panes view and cluster card, driven without a browser against a real cluster."""
from __future__ import annotations

import asyncio

import dask.config
import panel as pn
import pytest

from dashboard.cluster import ClusterManager
from dashboard.views import ClusterCard, DaskPanes


def iframe_srcs(panes: DaskPanes) -> list[str]:
    return [p.object.split('src="', 1)[1].split('"', 1)[0]
            for p in panes.shown()]


async def test_picker_offers_every_plot_the_scheduler_lists(process_cluster):
    manager = ClusterManager(address=process_cluster.address)
    try:
        panes = DaskPanes(manager=manager)
        await panes.load()
        offered = panes.param.plots.objects
        # distributed lists 30+ plots; all are pickable, the cluster map included.
        assert len(offered) > 25
        assert {"Task Stream", "Cluster Map", "Workers", "Progress", "Workers Memory",
                "Graph", "Profile"} <= set(offered)
        # Outside a server the panes link the scheduler directly.
        base = f"{process_cluster.dashboard_url}/"
        assert iframe_srcs(panes)[0] == base + "individual-task-stream"
        panes.plots = ["Graph", "Cluster Map"]
        # The cluster map keeps its place (moved up into the gap); the graph goes below.
        assert iframe_srcs(panes) == [base + "statics/individual-cluster-map.html",
                                      base + "individual-graph"]
    finally:
        await manager.close()


async def test_panes_follow_distributed_dashboard_link(process_cluster):
    with dask.config.set({"distributed.dashboard.link": "/user/ana/proxy/{port}/status"}):
        manager = ClusterManager(address=process_cluster.address)
        await manager.start()
    try:
        panes = DaskPanes(manager=manager)
        port = process_cluster.dashboard_port
        assert iframe_srcs(panes)[0] == f"/user/ana/proxy/{port}/individual-task-stream"
    finally:
        await manager.close()


async def test_cluster_card_shows_the_cluster_and_hides_scaling_it_cannot_do(process_cluster):
    manager = ClusterManager(address=process_cluster.address)
    await manager.start()
    try:
        card = ClusterCard(manager=manager)
        layout = card.__panel__()
        text = " ".join(str(getattr(o, "object", "")) for o in layout.select(lambda o: hasattr(o, "object")))
        assert process_cluster.address in text
        assert f"**Workers** {process_cluster.n_workers}" in text
        # A cluster managed elsewhere: the Scale and Adapt controls are hidden.
        holding_scale = [c for c in layout.select(pn.Column) if not isinstance(c, pn.Card)
                         and c.select(lambda o: isinstance(o, pn.widgets.Button)
                                      and o.name == "Scale")]
        assert [c.visible for c in holding_scale] == [False]
    finally:
        await manager.close()


async def test_panes_reload_when_the_scheduler_comes_back(process_cluster):
    manager = ClusterManager(address=process_cluster.address)
    await manager.start()
    try:
        panes = DaskPanes(manager=manager)
        before = panes.shown()
        # A Bokeh pane whose socket died stays dead: after a reconnection the
        # panes are rebuilt (same links, fresh iframes).
        manager.status = "reconnecting"
        manager.status = "connected"
        after = panes.shown()
        assert iframe_srcs(panes) == [p.object.split('src="')[1].split('"')[0] for p in before]
        assert not any(a is b for a, b in zip(after, before))
    finally:
        await manager.close()


async def test_hosted_a_scale_request_from_a_user_not_named_is_refused_on_the_server():
    # The controls are hidden from Bob; an event sent anyway changes nothing.
    config = {"workbench.hosted": True, "workbench.cluster.scale-users": ["ada"],
              "workbench.cluster.n-workers": 1, "workbench.cluster.max-workers": 2}
    with dask.config.set(config):
        manager = ClusterManager()
        await manager.start()
        try:
            bob = ClusterCard(manager=manager, user="bob", scale_workers=2)
            bob.param.trigger("scale")
            await asyncio.sleep(3)
            assert len(manager.cluster.scheduler_info["workers"]) == 1
            ada = ClusterCard(manager=manager, user="ada", scale_workers=3)
            with pytest.raises(ValueError, match="At most 2 workers here"):
                await manager.scale(ada.scale_workers)
            ada.scale_workers = 2
            ada.param.trigger("scale")
            deadline = asyncio.get_running_loop().time() + 60
            while len(manager.cluster.scheduler_info["workers"]) != 2:
                assert asyncio.get_running_loop().time() < deadline, "never scaled"
                await asyncio.sleep(0.2)
        finally:
            await manager.close()
