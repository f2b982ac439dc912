import logging

from shared.logs import REDACTED, RedactingFilter, redact

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
