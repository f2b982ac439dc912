"""The geometry of the server-drawn charts."""

from portal_gateway.charts import bars, nice_top, pie


def test_a_pie_starts_at_twelve_and_goes_clockwise_in_shares():
    slices = pie([("Submitted", 1), ("Scheduled", 0), ("In progress", 3)], cx=100, cy=100, r=90)
    assert [(s.label, s.count, s.percent) for s in slices] == [
        ("Submitted", 1, 25),
        ("Scheduled", 0, 0),
        ("In progress", 3, 75),
    ]
    # A quarter: from twelve o'clock to three o'clock; then the rest, the long way round.
    assert slices[0].path == "M 100 100 L 100.0 10.0 A 90 90 0 0 1 190.0 100.0 Z"
    assert slices[1].path == ""
    assert slices[2].path == "M 100 100 L 190.0 100.0 A 90 90 0 1 1 100.0 10.0 Z"


def test_a_pie_of_one_status_is_a_whole_circle_and_of_nothing_is_empty():
    whole = pie([("Submitted", 4), ("Scheduled", 0)])
    assert (whole[0].whole, whole[0].percent, whole[1].whole) == (True, 100, False)
    assert all(not s.path and not s.whole for s in pie([("Submitted", 0), ("Scheduled", 0)]))


def test_the_scale_tops_at_a_round_number():
    assert [nice_top(n) for n in (0, 1, 2, 3, 7, 10, 12, 51, 300)] == [1, 1, 2, 5, 10, 10, 20, 100, 500]


def test_bars_are_scaled_to_the_top_of_the_scale_on_one_baseline():
    chart = bars([("Jan", "January 2026", 0), ("Feb", "February 2026", 5), ("Mar", "March 2026", 2)])
    assert (chart.top, chart.total, chart.baseline) == (5, 7, 176)
    empty, full, part = chart.bars
    assert empty.height == 0 and empty.y == chart.baseline
    assert full.height == 176 - 18 and full.y == 18
    assert part.height == round(158 * 2 / 5, 2)
    assert empty.x < full.x < part.x < 360
