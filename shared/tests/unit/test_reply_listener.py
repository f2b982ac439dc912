"""A service whose broker connection goes while it acks an RPC reply lives on: the reply still
reaches its caller (nameko's own listener let the socket error kill the service container)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.messaging import SafeReplyListener


class BrokerGone:
    def ack_message(self, message: object) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")


def test_a_reply_whose_ack_fails_still_reaches_its_caller(caplog: pytest.LogCaptureFixture) -> None:
    listener = SafeReplyListener()
    listener.queue_consumer = BrokerGone()
    waiting = listener.get_reply_event("correlation-1")
    message = SimpleNamespace(properties={"correlation_id": "correlation-1"})

    listener.handle_message({"result": "ok"}, message)

    assert waiting.ready() and waiting.wait() == {"result": "ok"}
    assert "could not ack an RPC reply, the broker connection is gone (ConnectionResetError)" in caplog.text
