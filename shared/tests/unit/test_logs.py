import logging

import pytest

from shared.contracts.errors import (
    ERRORS_BY_NAME,
    NotFound,
    ServiceError,
    ServiceTimeout,
    ServiceUnavailable,
)
from shared.logs import (
    NAMEKO_WORKER_LOGGER,
    REDACTED,
    OneLineContractErrors,
    RedactingFilter,
    contract_error_level,
    log_contract_errors_in_one_line,
    redact,
)

TOKEN = "Xq3v9T0mZp8L2sK7bN4cR1dF6gH5jW0eY9uI3oP2aS8"


def test_links_tokens_and_credentials_are_redacted():
    lines = [
        f"GET /invite/{TOKEN} HTTP/1.1",
        f"https://portal.example.com/reset/{TOKEN}",
        f"token={TOKEN}&next=/portal",
        f'{{"session_id": "{TOKEN}", "password": "violet lanterns"}}',
        f"Authorization: Bearer pat_{TOKEN}",
    ]
    for line in lines:
        cleaned = redact(line)
        assert TOKEN not in cleaned, line
        assert REDACTED in cleaned
    assert "violet lanterns" not in redact(lines[3])


def test_the_filter_cleans_formatted_messages_and_tracebacks(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("opened %s", f"/invite/{TOKEN}")
            try:
                raise ValueError(f"bad token={TOKEN}")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    text = caplog.text
    assert TOKEN not in text
    assert "/invite/[REDACTED]" in text


def test_ordinary_messages_are_left_alone():
    message = "invitation 3f2a sent to contact 91bc (state sent)"
    assert redact(message) == message


class FakeEntrypoint:
    def __init__(self, method_name, expected_exceptions=()):
        self.method_name = method_name
        self.expected_exceptions = expected_exceptions


class FakeWorkerContext:
    """What nameko's container passes as the first argument of its log record."""

    service_name = "contacts"

    def __init__(self, entrypoint):
        self.entrypoint = entrypoint


def log_like_nameko(logger, entrypoint, exc):
    """What nameko's ServiceContainer._run_worker does with whatever an entrypoint raises."""
    worker_ctx = FakeWorkerContext(entrypoint)
    try:
        raise exc
    except Exception as raised:
        if isinstance(raised, entrypoint.expected_exceptions):
            logger.warning("(expected) error handling worker %s: %s", worker_ctx, raised, exc_info=True)
        else:
            logger.exception("error handling worker %s: %s", worker_ctx, raised)


@pytest.fixture
def container_logger():
    logger = logging.getLogger("test.nameko.containers")
    logger.addFilter(OneLineContractErrors())
    yield logger
    logger.filters.clear()


def test_every_contract_error_is_a_refusal_or_an_outage_except_the_bare_base_class():
    for name, cls in ERRORS_BY_NAME.items():
        level = contract_error_level(cls("a sentence"))
        if cls is ServiceError:
            assert level is None
        elif cls in (ServiceUnavailable, ServiceTimeout):
            assert level == logging.WARNING, name
        else:
            assert level == logging.INFO, name
    assert contract_error_level(RuntimeError("a bug")) is None


def test_an_expected_refusal_is_one_info_line_naming_the_method_and_code(container_logger, caplog):
    rpc = FakeEntrypoint("get_contact", expected_exceptions=ServiceError)
    with caplog.at_level(logging.DEBUG, logger=container_logger.name):
        log_like_nameko(container_logger, rpc, NotFound(f"no contact for ada@example.com token={TOKEN}"))

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == "contacts.get_contact answered not_found"
    assert record.exc_info is None and record.exc_text is None
    assert caplog.text.count("\n") == 1
    assert "Traceback" not in caplog.text
    assert "ada@example.com" not in caplog.text and TOKEN not in caplog.text


def test_an_outage_of_a_called_service_is_one_warning_line(container_logger, caplog):
    rpc = FakeEntrypoint("send_invitation", expected_exceptions=ServiceError)
    with caplog.at_level(logging.DEBUG, logger=container_logger.name):
        log_like_nameko(container_logger, rpc, ServiceTimeout("contacts.get_contact did not answer"))

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "contacts.send_invitation answered service_timeout"
    assert "Traceback" not in caplog.text


def test_a_refusal_below_the_loggers_level_is_not_written(container_logger, caplog):
    rpc = FakeEntrypoint("get_contact", expected_exceptions=ServiceError)
    with caplog.at_level(logging.WARNING, logger=container_logger.name):
        log_like_nameko(container_logger, rpc, NotFound("no such contact"))
    assert caplog.records == []


def test_unexpected_errors_keep_their_traceback(container_logger, caplog):
    rpc = FakeEntrypoint("get_contact", expected_exceptions=ServiceError)
    handler = FakeEntrypoint("handle_invitation_sent")  # declares nothing expected
    with caplog.at_level(logging.DEBUG, logger=container_logger.name):
        log_like_nameko(container_logger, rpc, KeyError("secret_column"))
        log_like_nameko(container_logger, rpc, ServiceError("the bare base class"))
        log_like_nameko(container_logger, handler, NotFound("an event about a vanished contact"))

    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.WARNING, logging.ERROR]
    assert all(r.exc_info is not None for r in caplog.records)
    assert caplog.text.count("Traceback (most recent call last)") == 3


def test_records_without_an_exception_or_a_worker_are_left_alone(container_logger, caplog):
    with caplog.at_level(logging.DEBUG, logger=container_logger.name):
        container_logger.info("killing %s", "the container")
        try:
            raise NotFound("no worker context in this record")
        except NotFound:
            container_logger.exception("thread exited")
    assert caplog.records[0].getMessage() == "killing the container"
    assert caplog.records[1].exc_info is not None


def test_the_filter_is_installed_once_on_namekos_container_logger():
    logger = logging.getLogger(NAMEKO_WORKER_LOGGER)
    before = list(logger.filters)
    try:
        log_contract_errors_in_one_line()
        log_contract_errors_in_one_line()
        assert sum(isinstance(f, OneLineContractErrors) for f in logger.filters) == 1
    finally:
        logger.filters[:] = before
