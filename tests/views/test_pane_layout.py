"""Where the Dask panes go: the default arrangement, and the user's kept when panes change."""
from dashboard.views.pane_layout import arrange, rows

DEFAULT = ["Task Stream", "Progress", "Workers Memory", "Workers", "Cluster Map"]


def test_default_puts_the_task_stream_across_the_top_and_the_rest_two_per_row():
    cells = arrange(DEFAULT, kept={})
    assert cells == {
        "Task Stream": (0, 0, 2, 12),
        "Progress": (2, 0, 4, 6), "Workers Memory": (2, 6, 4, 12),
        "Workers": (4, 0, 6, 6), "Cluster Map": (4, 6, 6, 12),
    }
    assert rows(cells) == 6


def test_a_wide_pane_after_a_half_row_starts_below_it():
    cells = arrange(["Progress", "Task Stream", "Workers"], kept={})
    assert cells == {"Progress": (0, 0, 2, 6), "Task Stream": (2, 0, 4, 12),
                     "Workers": (4, 0, 6, 6)}


def test_panes_the_user_moved_stay_put_and_new_ones_go_below():
    moved = {"Workers": (0, 0, 3, 12), "Progress": (3, 6, 5, 12)}
    cells = arrange(["Progress", "Workers", "Graph"], kept=moved)
    assert cells["Workers"] == (0, 0, 3, 12)
    assert cells["Progress"] == (3, 6, 5, 12)
    assert cells["Graph"] == (5, 0, 7, 6)


def test_removing_a_pane_closes_its_gap():
    cells = arrange(DEFAULT, kept={})
    after = arrange(["Workers", "Cluster Map"], kept=cells)
    assert after == {"Workers": (0, 0, 2, 6), "Cluster Map": (0, 6, 2, 12)}
    assert rows(after) == 2


def test_stacked_panes_each_take_a_whole_row_in_order():
    # Beside the work (a narrow column) every pane gets a row of its own.
    cells = arrange(["Task Stream", "Progress", "Workers"], {}, stacked=True)
    assert cells == {"Task Stream": (0, 0, 2, 12), "Progress": (2, 0, 4, 12),
                     "Workers": (4, 0, 6, 12)}
