import uuid
from itertools import pairwise

import pytest

from notifications import domain
from notifications.domain import Action, Decision

# --- back-off ---------------------------------------------------------------------------------


def test_back_off_doubles_from_the_base_then_stays_at_the_cap():
    steps = [domain.retry_delay(n, 5, 900, jitter=1.0) for n in range(1, 12)]
    assert steps[:5] == [5, 10, 20, 40, 80]
    assert steps[-3:] == [900, 900, 900]
    assert all(a <= b for a, b in pairwise(steps))


@pytest.mark.parametrize("attempts", [1, 2, 5, 8, 30, 1000])
def test_jitter_keeps_the_delay_between_half_the_step_and_the_step(attempts):
    step = min(900, 5 * 2 ** min(attempts - 1, 60))
    low = domain.retry_delay(attempts, 5, 900, jitter=0.0)
    high = domain.retry_delay(attempts, 5, 900, jitter=1.0)
    middle = domain.retry_delay(attempts, 5, 900, jitter=0.5)
    assert low == pytest.approx(step / 2)
    assert high == pytest.approx(step)
    assert low < middle < high
    assert high <= 900


def test_jitter_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError):
        domain.retry_delay(1, 5, 900, jitter=1.5)


# --- outcomes ---------------------------------------------------------------------------------


def test_250_is_sent():
    assert domain.decide(250, attempts=1, max_attempts=8) == Decision(Action.SENT)


@pytest.mark.parametrize("code", [421, 450, 451, 452, None])
def test_transient_replies_and_no_reply_are_retried(code):
    assert domain.decide(code, attempts=3, max_attempts=8, recipient_refused=True) == Decision(Action.RETRY)


@pytest.mark.parametrize("code", [451, None])
def test_transient_failures_fail_when_the_attempts_are_used_up(code):
    assert domain.decide(code, attempts=8, max_attempts=8) == Decision(Action.FAILED)
    assert domain.decide(code, attempts=7, max_attempts=8) == Decision(Action.RETRY)


@pytest.mark.parametrize("code", [550, 551, 553])
def test_a_mailbox_refusal_fails_at_once_and_suppresses_the_address(code):
    assert domain.decide(code, attempts=1, max_attempts=8, recipient_refused=True) == Decision(
        Action.FAILED, suppress=True
    )


def test_554_fails_without_suppressing():
    assert domain.decide(554, attempts=1, max_attempts=8, recipient_refused=True) == Decision(Action.FAILED)


def test_a_550_about_the_message_rather_than_the_mailbox_does_not_suppress():
    # e.g. "550 5.7.1 message rejected as spam" after DATA
    assert domain.decide(550, attempts=1, max_attempts=8, recipient_refused=False) == Decision(Action.FAILED)


def test_suppressing_codes():
    assert [c for c in (250, 451, 550, 551, 552, 553, 554) if domain.suppresses(c)] == [550, 551, 553]


def test_the_queue_is_topped_up_in_chunks_once_half_the_batch_has_gone():
    assert domain.claim_size(0, 20) == 20
    assert domain.claim_size(19, 20) == 0
    assert domain.claim_size(11, 20) == 0
    assert domain.claim_size(10, 20) == 10
    assert domain.claim_size(3, 20) == 17
    assert (domain.claim_size(0, 1), domain.claim_size(1, 1)) == (1, 0)


def test_a_claim_is_used_only_in_the_first_half_of_its_lease():
    assert domain.claim_is_fresh(0, 120)
    assert domain.claim_is_fresh(59.9, 120)
    assert not domain.claim_is_fresh(60, 120)


# --- keys and templates -----------------------------------------------------------------------


def test_idempotency_key_is_event_and_purpose():
    event_id = uuid.uuid4()
    assert domain.idempotency_key(event_id, "invitation") == f"{event_id}:invitation"
    assert domain.idempotency_key(event_id, "invitation") != domain.idempotency_key(
        event_id, "password_reset"
    )


def test_message_id_is_stable_per_delivery():
    delivery_id = uuid.uuid4()
    assert domain.message_id(delivery_id, "portal.localhost") == f"<{delivery_id}@portal.localhost>"


@pytest.mark.parametrize(
    ("requested", "available", "chosen"),
    [
        ("en", {"en"}, "en"),
        ("en-GB", {"en"}, "en"),
        ("de-AT", {"en"}, "en"),
        ("de-AT", {"en", "de"}, "de"),
        ("de-AT", {"en", "de", "de-AT"}, "de-AT"),
        ("fr", {"en", "de"}, "en"),
        (None, {"en", "de"}, "en"),
        ("", {"en"}, "en"),
    ],
)
def test_template_locale_is_exact_then_language_then_english(requested, available, chosen):
    assert domain.choose_locale(requested, available) == chosen


def test_initial_status_of_a_suppressed_recipient():
    assert domain.initial_status(True).value == "suppressed"
    assert domain.initial_status(False).value == "queued"
