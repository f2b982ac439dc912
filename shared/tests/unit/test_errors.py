from nameko.exceptions import deserialize, serialize

import shared.messaging  # noqa: F401 - registers the contract errors with nameko
from shared.contracts.errors import NotEligible, RateLimited, RemoteFailure, from_remote


def test_contract_errors_cross_the_wire_with_their_details_intact():
    reasons = [{"code": "no_active_lease", "message": "No active lease."}]
    wire = serialize(NotEligible("not eligible", {"reasons": reasons}))

    in_service = deserialize(wire)  # what a nameko caller gets
    in_gateway = from_remote(wire["exc_type"], wire["exc_args"], wire["value"])  # what asyncio gets
    for error in (in_service, in_gateway):
        assert isinstance(error, NotEligible)
        assert error.details == {"reasons": reasons}
        assert error.message == "not eligible"


def test_rate_limited_keeps_its_number():
    wire = serialize(RateLimited("wait", {"retry_after": 42}))
    assert from_remote(wire["exc_type"], wire["exc_args"], wire["value"]).retry_after == 42


def test_an_unknown_remote_error_is_a_remote_failure():
    error = from_remote("KeyError", ["x"], "'x'")
    assert isinstance(error, RemoteFailure)
    assert error.exc_type == "KeyError"


def test_a_dead_letter_error_summary_keeps_the_reason_and_drops_the_parameters():
    from sqlalchemy.exc import IntegrityError

    from shared.messaging import error_summary

    class UniqueViolation(Exception):
        pass

    error = IntegrityError(
        "INSERT INTO deliveries (recipient) VALUES (%(recipient)s)",
        {"recipient": "tess@example.com"},
        UniqueViolation(
            'duplicate key value violates unique constraint "uq"\nDETAIL: Key (recipient)=(tess@example.com)'
        ),
    )
    summary = error_summary(error)
    assert summary == 'IntegrityError: duplicate key value violates unique constraint "uq"'
    assert "tess@example.com" not in summary
