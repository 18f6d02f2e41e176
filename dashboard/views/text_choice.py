"""A multiple-choice box whose options are shown as text, whatever they hold."""
from __future__ import annotations

import html

import panel as pn


class TextChoice(pn.widgets.MultiChoice):
    """``MultiChoice`` for options taken from data: column names, a column's values.

    Bokeh's choice box (Choices.js with ``allowHTML``) puts option labels into the
    page as HTML, so a CSV header or cell such as ``<img src=x onerror=...>`` ran in
    the reader's browser. Labels are escaped here; Panel maps them back to the
    values, so the widget's ``value`` holds the data's own strings.
    """

    @property
    def labels(self):
        return [html.escape(label) for label in super().labels]
