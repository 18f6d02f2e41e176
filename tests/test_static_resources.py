"""The page names its scripts and stylesheets, served by the app's own server as files
the browser keeps: not megabytes of inline JavaScript in every page (issue 16)."""
from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urljoin, urlsplit


def fetch(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=60) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as e:  # urllib raises on 304
        return e.code, b"", dict(e.headers)


def test_the_page_is_small_and_its_scripts_are_cached_files_of_the_app(proxied_app):
    _, page, _ = fetch(proxied_app.url)
    assert len(page) < 200_000, f"the page is {len(page):,} bytes"
    html = page.decode()
    assets = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html) + re.findall(
        r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
    scripts = [a for a in assets if ".js" in a]
    assert any("bokeh.min.js" in s for s in scripts) and any("panel" in s for s in scripts)
    for asset in assets:
        url = urljoin(proxied_app.url, asset)
        assert urlsplit(url).netloc == urlsplit(proxied_app.url).netloc, asset  # this server
        status, body, headers = fetch(url)
        assert status == 200 and body, asset
        # Versioned files are kept for long; Panel's others are asked again with their
        # ETag and answered 304, without the file.
        age = re.search(r"max-age=(\d+)", headers.get("Cache-Control", ""))
        if not (age and int(age.group(1)) >= 86400):
            again, body, _ = fetch(url, {"If-None-Match": headers.get("Etag", "none")})
            assert again == 304 and not body, f"{asset} is sent again every time"
