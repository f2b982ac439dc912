"""What the contacts service's log says about a refusal and about a bug, on the real RabbitMQ and
PostgreSQL: a refusal is one line naming the method and the code, a bug keeps its traceback."""

import logging
import uuid

import pytest
from nameko.exceptions import RemoteError

from contacts import client_groups
from shared.contracts import contacts as c
from shared.contracts.errors import NotFound
from shared.testing.helpers import rpc_over_broker


def lines_about(caplog, method):
    return [
        record
        for record in caplog.records
        if record.name == "nameko.containers" and f"contacts.{method}" in record.getMessage()
    ]


def test_a_refusal_is_one_line_and_a_bug_keeps_its_traceback(contacts, settings, org, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    call = rpc_over_broker(settings.nameko_config())

    with pytest.raises(NotFound):
        call(c.GET_CONTACT, c.GetContact(organization_id=org.organization.id, contact_id=uuid.uuid4()))

    [refusal] = lines_about(caplog, "get_contact")
    assert refusal.levelno == logging.INFO
    assert refusal.getMessage() == "contacts.get_contact answered not_found"
    assert refusal.exc_info is None and refusal.exc_text is None
    refusal_text = caplog.text
    assert refusal_text.count("get_contact") == 1
    assert "Traceback" not in refusal_text

    def a_bug(session, q):
        raise KeyError("no_such_column")

    monkeypatch.setattr(client_groups, "get_client_group", a_bug)
    with pytest.raises(RemoteError) as failed:
        call(
            c.GET_CLIENT_GROUP,
            c.GetClientGroup(organization_id=org.organization.id, client_group_id=uuid.uuid4()),
        )
    assert failed.value.exc_type == "KeyError"

    [bug] = [record for record in caplog.records if record.exc_info is not None]
    assert bug.name == "nameko.containers"
    assert bug.levelno == logging.ERROR
    assert "contacts.get_client_group" in bug.getMessage()
    assert "Traceback (most recent call last)" in caplog.text
    assert "KeyError: 'no_such_column'" in caplog.text
