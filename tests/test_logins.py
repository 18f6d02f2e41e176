"""Ended logins, as a unit: what ``/logout`` records and what every route then checks
(the browser test of the same is ``tests/ui/test_hosted.py``)."""
from __future__ import annotations

import dask.config
import pytest
from tornado.web import create_signed_value

from dashboard import logins

SECRET = "c" * 32


@pytest.fixture
def secret(monkeypatch, tmp_path):
    monkeypatch.setenv("PANEL_COOKIE_SECRET", SECRET)
    with dask.config.set({"workbench.data-dir": str(tmp_path)}):
        yield tmp_path
    logins._ended.clear()
    logins._read = None


def cookie(login: str, secret: str = SECRET) -> bytes:
    return create_signed_value(secret, logins.COOKIE, login)


def test_a_login_is_live_until_its_logout(secret):
    login = logins.new_login()
    assert logins.is_live(cookie(login))
    logins.end(login)
    assert not logins.is_live(cookie(login))
    assert logins.is_live(cookie(logins.new_login()))  # the others go on


def test_a_missing_or_forged_login_cookie_is_no_login(secret):
    assert not logins.is_live(None) and not logins.is_live("")
    assert not logins.is_live(cookie(logins.new_login(), secret="x" * 32))
    assert not logins.is_live(b"2|1:0|10:1796000000|8:wb_login|4:YWJj|0000")


def test_an_ended_login_stays_ended_after_a_restart_and_in_another_process(secret):
    login = logins.new_login()
    logins.end(login)
    # Another process (or this one restarted) knows only what the file says.
    logins._ended.clear()
    logins._read = None
    assert not logins.is_live(cookie(login))
    # A line cut short by a crash costs only itself.
    with open(secret / "ended-logins", "a", encoding="ascii") as f:
        f.write("half-a-line")
    other = logins.new_login()
    logins.end(other)
    logins._ended.clear()
    logins._read = None
    assert not logins.is_live(cookie(login)) and not logins.is_live(cookie(other))
