"""The rules of viewings and offers (`properties.rules.viewings`)."""

import pytest

from properties.rules import viewings as rules
from shared.contracts.properties import OfferStatus, ViewingStatus


def test_feedback_marks_a_booked_viewing_done_and_a_cancelled_one_takes_none():
    assert rules.status_after_feedback(ViewingStatus.BOOKED) == ViewingStatus.DONE
    assert rules.status_after_feedback(ViewingStatus.DONE) == ViewingStatus.DONE
    assert rules.feedback_problem(ViewingStatus.CANCELLED) is not None
    assert rules.feedback_problem(ViewingStatus.BOOKED) is None


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (ViewingStatus.BOOKED, ViewingStatus.DONE, True),
        (ViewingStatus.BOOKED, ViewingStatus.CANCELLED, True),
        (ViewingStatus.BOOKED, ViewingStatus.BOOKED, False),
        (ViewingStatus.DONE, ViewingStatus.CANCELLED, False),
        (ViewingStatus.CANCELLED, ViewingStatus.BOOKED, False),
        (ViewingStatus.CANCELLED, ViewingStatus.DONE, False),
    ],
)
def test_viewing_status_moves(current, new, allowed):
    assert (rules.viewing_status_problem(current, new) is None) == allowed


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (OfferStatus.RECEIVED, OfferStatus.ACCEPTED, True),
        (OfferStatus.RECEIVED, OfferStatus.REJECTED, True),
        (OfferStatus.RECEIVED, OfferStatus.WITHDRAWN, True),
        (OfferStatus.ACCEPTED, OfferStatus.WITHDRAWN, True),
        (OfferStatus.ACCEPTED, OfferStatus.REJECTED, False),
        (OfferStatus.ACCEPTED, OfferStatus.ACCEPTED, False),
        (OfferStatus.REJECTED, OfferStatus.ACCEPTED, False),
        (OfferStatus.WITHDRAWN, OfferStatus.RECEIVED, False),
        (OfferStatus.ACCEPTED, OfferStatus.RECEIVED, False),
    ],
)
def test_offer_status_moves(current, new, allowed):
    assert (rules.offer_status_problem(current, new) is None) == allowed
