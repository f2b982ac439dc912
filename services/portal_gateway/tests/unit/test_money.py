"""Amounts in pence as the portal shows them."""

import pytest

from portal_gateway.rendering import money


@pytest.mark.parametrize(
    ("minor", "shown"),
    [
        (0, "£0.00"),
        (5, "£0.05"),
        (95_050, "£950.50"),
        (123_456_789, "£1,234,567.89"),
        (-500, "-£5.00"),
        (-1, "-£0.01"),
    ],
)
def test_pence_are_shown_as_pounds_with_two_decimals(minor, shown):
    assert money(minor) == shown
