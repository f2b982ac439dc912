"""Pure rules of viewings, their feedback, and offers (`viewings.py`). No I/O, no framework."""

from __future__ import annotations

from shared.contracts.properties import OfferStatus, ViewingStatus


def feedback_problem(status: ViewingStatus) -> str | None:
    """Why feedback cannot be recorded on a viewing in `status`, or None: a cancelled viewing
    never happened, so nobody can have said anything about it."""
    if status == ViewingStatus.CANCELLED:
        return "this viewing was cancelled: it has no feedback"
    return None


def viewing_status_problem(current: ViewingStatus, new: ViewingStatus) -> str | None:
    """Why a viewing cannot move from `current` to `new`, or None: only a booked viewing moves,
    to done or cancelled."""
    if new == current:
        return f"this viewing is already {current.value}"
    if current != ViewingStatus.BOOKED:
        return f"this viewing is {current.value}: its status can no longer change"
    if new == ViewingStatus.BOOKED:
        return "a viewing cannot be booked again: book a new one"
    return None


def status_after_feedback(status: ViewingStatus) -> ViewingStatus:
    """Feedback means the viewing took place: a booked viewing is done once it has some."""
    return ViewingStatus.DONE if status == ViewingStatus.BOOKED else status


# Where an offer may go from each status. An accepted offer can still be withdrawn (the buyer
# pulls out); a rejected or withdrawn offer is over: a new one is a new offer.
OFFER_MOVES: dict[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.RECEIVED: frozenset({OfferStatus.ACCEPTED, OfferStatus.REJECTED, OfferStatus.WITHDRAWN}),
    OfferStatus.ACCEPTED: frozenset({OfferStatus.WITHDRAWN}),
    OfferStatus.REJECTED: frozenset(),
    OfferStatus.WITHDRAWN: frozenset(),
}


def offer_status_problem(current: OfferStatus, new: OfferStatus) -> str | None:
    """Why an offer cannot move from `current` to `new`, or None if it can."""
    if new == current:
        return f"this offer is already {current.value}"
    if new not in OFFER_MOVES[current]:
        if not OFFER_MOVES[current]:
            return f"this offer was {current.value}: its status can no longer change"
        return f"an offer that is {current.value} cannot become {new.value}"
    return None
