"""Where each Dask pane sits in the panes grid: a default like dask-labextension's,
and the user's own arrangement kept when panes are added or removed."""
from __future__ import annotations

COLUMNS = 12
PANE_ROWS = 2  # a pane spans two grid rows by default, so the user can halve it
# Across the full width by default: the one plot whose x axis is time.
WIDE = frozenset({"Task Stream"})

Cell = tuple[int, int, int, int]  # (y0, x0, y1, x1), as GridSpec keys are


def arrange(labels: list[str], kept: dict[str, Cell], stacked: bool = False) -> dict[str, Cell]:
    """A cell for every label: ``kept`` cells stay, the others go below them.

    New panes fill the bottom: wide ones across the grid, the rest two per row
    (or every one across, ``stacked``, in a column beside the work).
    """
    cells = _without_empty_rows({label: kept[label] for label in labels if label in kept})
    y = max((cell[2] for cell in cells.values()), default=0)
    half: int | None = None  # the row whose right half is still free
    for label in labels:
        if label in cells:
            continue
        if stacked or label in WIDE:
            half = None  # y is already below a half-filled row
            cells[label] = (y, 0, y + PANE_ROWS, COLUMNS)
            y += PANE_ROWS
        elif half is None:
            cells[label] = (y, 0, y + PANE_ROWS, COLUMNS // 2)
            half, y = y, y + PANE_ROWS
        else:
            cells[label] = (half, COLUMNS // 2, half + PANE_ROWS, COLUMNS)
            half = None
    return cells


def _without_empty_rows(cells: dict[str, Cell]) -> dict[str, Cell]:
    """Close the gaps removed panes leave, keeping the others' relative places."""
    used = sorted({y for (y0, _, y1, _) in cells.values() for y in range(y0, y1)})
    shift = {y: i for i, y in enumerate(used)}
    return {label: (shift[y0], x0, shift[y1 - 1] + 1, x1)
            for label, (y0, x0, y1, x1) in cells.items()}


def rows(cells: dict[str, Cell]) -> int:
    return max((cell[2] for cell in cells.values()), default=0)
