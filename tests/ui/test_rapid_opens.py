"""Pages opened in quick succession, in Chromium: every one shows its dataset summary.

Pages opened one right after another used to miss an update now and then (about
1 in 100 never showed the summary). ``WORKBENCH_RAPID_OPENS`` sets how many pages
(40 by default; the closing note's figure is from 500).
"""
from __future__ import annotations

import os
import time

import pytest

from tests.ui.conftest import WAIT_MS

OPENS = int(os.environ.get("WORKBENCH_RAPID_OPENS", "40"))
AT_ONCE = 4  # pages loading at the same moment, as tabs opened from a list of links


# A batch of four pages takes 10 to 17 s to show its summaries on 2 cores: 40 pages
# took about 4 minutes here, and ran past pytest's default 300 s on a loaded CI machine.
@pytest.mark.timeout(15 * OPENS)
def test_pages_opened_in_quick_succession_all_show_their_summary(proxied_app, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    missing, errors, seconds, stacks = [], [], [], []
    try:
        for start in range(0, OPENS, AT_ONCE):
            pages = [context.new_page() for _ in range(min(AT_ONCE, OPENS - start))]
            began = time.monotonic()
            for n, page in enumerate(pages, start):
                page.on("pageerror", lambda error, n=n: (errors.append((n, str(error))),
                                                        stacks.append(error.stack)))
                page.goto(proxied_app.url, wait_until="commit")
            for n, page in enumerate(pages, start):
                try:
                    page.locator(".dataset-stats").get_by_text("Partitions 12").wait_for()
                    seconds.append(time.monotonic() - began)
                except Exception:
                    missing.append(n)
                page.close()
    finally:
        context.close()
    seconds.sort()
    print(f"\nrapid opens: {OPENS - len(missing)}/{OPENS} pages showed their summary, "
          f"median {seconds[len(seconds) // 2]:.2f} s after their batch opened; "
          f"{len(errors)} page errors {sorted({e for _, e in errors})}"
          + (f"; the first one's stack:\n{stacks[0]}" if stacks else ""))
    assert not missing, f"pages {missing} never showed the summary"
    # A page that misses a model breaks for good at the next update naming it (the race
    # Panel's hold had, see views/session.py). Other script errors are reported above:
    # 500 pages once threw "Cannot read properties of undefined (reading
    # 'removeAttribute')" on 2 pages, which still showed their summary (left open).
    broken = [(n, e) for n, e in errors if "isn't known" in e or "not known" in e]
    assert not broken, f"pages broken by a missed update: {broken[:3]}"
