"""The SMTP sink over real sockets: sent with the stdlib smtplib, read back over its HTTP API."""

from __future__ import annotations

import logging
import os
import secrets
import select
import shutil
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest

from devtools.sink_client import SinkClient, SinkError
from devtools.smtp_sink.server import SmtpSink


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def client(sink: SmtpSink) -> Iterator[SinkClient]:
    client = sink.client()
    client.clear_faults()
    yield client
    client.clear_faults()


def address(prefix: str = "person") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


def invitation(
    to: str, subject: str = "Your portal invitation", token: str | None = None, link: str | None = None
) -> EmailMessage:
    link = link or f"https://portal.example.test/invite/{token or secrets.token_urlsafe(32)}"
    message = EmailMessage()
    message["From"] = "Portal <no-reply@portal.example.test>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@portal.example.test>"
    message.set_content(f"Hello,\n\nCreate your portal account: {link}\n")
    message.add_alternative(
        f'<p>Hello,</p><p><a href="{link}">Create your portal account</a></p>', subtype="html"
    )
    return message


def smtp(sink: SmtpSink) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10)


def send(sink: SmtpSink, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    with smtp(sink) as connection:
        return connection.send_message(message)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the sink's own http:// URL
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_multipart_message_is_read_back_with_its_links(sink: SmtpSink, client: SinkClient) -> None:
    to = address("tenant")
    token = secrets.token_urlsafe(32)
    message = invitation(to, subject="Einladung: Zugang für Ihr Portal", token=token)

    assert send(sink, message) == {}

    [stored] = client.wait_for(to)
    link = f"https://portal.example.test/invite/{token}"
    assert stored["mail_from"] == "no-reply@portal.example.test"
    assert stored["rcpt_tos"] == [to]
    assert stored["subject"] == "Einladung: Zugang für Ihr Portal"
    assert stored["to"] == to
    assert stored["from"] == "Portal <no-reply@portal.example.test>"
    assert stored["message_id"] == message["Message-ID"]
    assert link in stored["text"]
    assert f'<a href="{link}">' in stored["html"]
    assert stored["links"] == [link]
    detail = client.message(stored["id"])
    assert "Content-Type: multipart/alternative" in detail["raw"]
    assert ["Subject", "Einladung: Zugang für Ihr Portal"] in detail["headers"]


def test_fifty_messages_over_five_concurrent_reused_connections(sink: SmtpSink, client: SinkClient) -> None:
    to = address("bulk")

    def send_ten(connection_number: int) -> list[dict[str, tuple[int, bytes]]]:
        results = []
        with smtp(sink) as connection:
            for i in range(10):
                results.append(
                    connection.send_message(invitation(to, subject=f"bulk {connection_number}-{i}"))
                )
                connection.rset()
        return results

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = [result for batch in pool.map(send_ten, range(5)) for result in batch]

    assert results == [{}] * 50
    received = client.wait_for(to, count=50)
    assert len(received) == 50
    assert {m["subject"] for m in received} == {f"bulk {c}-{i}" for c in range(5) for i in range(10)}
    assert len({m["id"] for m in received}) == 50


def test_a_451_fault_for_two_messages_refuses_two_then_accepts(sink: SmtpSink, client: SinkClient) -> None:
    to = address("retry")
    rule = client.add_fault(reply="451 4.3.0 Try again later", count=2)
    assert rule["stage"] == "rcpt" and rule["count"] == 2

    with smtp(sink) as connection:
        for _attempt in range(2):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                connection.send_message(invitation(to))
            assert refused.value.recipients == {to: (451, b"4.3.0 Try again later")}
        assert connection.send_message(invitation(to)) == {}

    assert len(client.wait_for(to)) == 1
    assert client.faults() == []


def test_a_550_fault_with_match_bounces_only_matching_recipients(sink: SmtpSink, client: SinkClient) -> None:
    bounce, ok = address("bounce"), address("ok")
    client.add_fault(reply="550 5.1.1 No such user", match="bounce")
    before = client.stats()

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(sink, invitation(bounce))
    assert send(sink, invitation(ok)) == {}
    both = invitation(ok, subject="to both")
    with smtp(sink) as connection:
        refused = connection.send_message(both, to_addrs=[bounce, ok])
    assert refused == {bounce: (550, b"5.1.1 No such user")}

    received = client.wait_for(ok, count=2)
    assert [m["rcpt_tos"] for m in received] == [[ok], [ok]]
    assert client.messages(to=bounce) == []
    after = client.stats()
    assert after["rejected"] - before["rejected"] == 2
    assert after["accepted"] - before["accepted"] == 2
    assert client.faults()[0]["count"] is None  # no count: active until cleared


def test_a_delay_still_ends_in_a_250_reply(sink: SmtpSink, client: SinkClient) -> None:
    to = address("slow")
    client.set_faults(delay_ms=50)

    with smtp(sink) as connection:
        code, _ = connection.noop()
        assert code == 250
        assert connection.send_message(invitation(to)) == {}
        assert connection.send_message(invitation(to)) == {}

    assert len(client.wait_for(to, count=2)) == 2
    [rule] = client.faults()
    assert rule["delay_ms"] == 50 and rule["stage"] == "data"


def test_a_command_delay_waits_once_before_each_reply_and_still_stores(
    sink: SmtpSink, client: SinkClient
) -> None:
    to = address("slowserver")
    [rule] = client.set_faults(command_delay_ms=1, count=3)
    assert rule["stage"] == "every reply" and rule["command_delay_ms"] == 1

    with smtp(sink) as connection:  # the greeting: 1 reply
        connection.ehlo()  # several lines, one reply
        assert client.faults()[0]["count"] == 1
        assert connection.noop()[0] == 250
        assert client.faults() == []
        assert connection.send_message(invitation(to)) == {}

    assert len(client.wait_for(to)) == 1


def test_a_dropped_connection_stores_nothing(sink: SmtpSink, client: SinkClient) -> None:
    to = address("dropped")
    client.add_fault(drop_connection=True, count=1, match="dropped")
    before = client.stats()

    with pytest.raises(smtplib.SMTPServerDisconnected), smtp(sink) as connection:
        connection.send_message(invitation(to))
    assert send(sink, invitation(to, subject="second try")) == {}

    [stored] = client.wait_for(to)
    assert stored["subject"] == "second try"
    assert client.stats()["dropped"] - before["dropped"] == 1


def test_several_rules_are_consumed_independently(sink: SmtpSink, client: SinkClient) -> None:
    first, second = address("first"), address("second")
    client.set_faults(
        {"reply": "452 4.2.2 Mailbox full", "count": 1, "match": "second"},
        {"reply": "421 4.7.0 Slow down", "count": 1, "match": "first"},
    )

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(sink, invitation(second))
    assert refused.value.recipients[second][0] == 452
    assert [rule["match"] for rule in client.faults()] == ["first"]
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(sink, invitation(first))
    assert client.faults() == []
    assert send(sink, invitation(first)) == {}


@pytest.mark.parametrize(
    "rule",
    [
        {"reply": "250 OK"},
        {"reply": "451 ok\r\nRCPT"},
        {"reply": "451 x", "delay_ms": 5},
        {"count": 2},
        {"reply": "451 x", "count": 0},
        {"delay_ms": -1},
        {"drop_connection": "yes"},
        {"reply": "451 x", "recipient": "a"},
        {"command_delay_ms": 5, "match": "a"},
        {"command_delay_ms": 5, "delay_ms": 5},
        {"command_delay_ms": True},
    ],
)
def test_invalid_fault_rules_are_refused(client: SinkClient, rule: dict[str, object]) -> None:
    with pytest.raises(SinkError, match="400"):
        client.add_fault(**rule)
    assert client.faults() == []


def test_pages_show_the_subject_and_an_anchor_with_the_link(sink: SmtpSink, client: SinkClient) -> None:
    to = address("page")
    token = secrets.token_urlsafe(32)
    send(sink, invitation(to, subject="Welcome <b>& invite</b>", token=token))
    [stored] = client.wait_for(to)
    link = f"https://portal.example.test/invite/{token}"

    status, index = get(sink.base_url + "/")
    assert status == 200
    assert "Welcome &lt;b&gt;&amp; invite&lt;/b&gt;" in index
    assert f'<a href="/messages/{stored["id"]}">' in index
    assert '<th scope="col">Subject</th>' in index
    assert '<meta name="viewport"' in index
    assert "<script" not in index

    status, page = get(f"{sink.base_url}/messages/{stored['id']}")
    assert status == 200
    assert "<h1>Welcome &lt;b&gt;&amp; invite&lt;/b&gt;</h1>" in page
    assert f'<a href="{link}">{link}</a>' in page
    assert (
        'sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"'
        in page
    )
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;Hello,' in page
    assert "Create your portal account: " + link in page

    assert get(sink.base_url + "/?refresh=5")[1].count('http-equiv="refresh" content="5"') == 1
    assert get(sink.base_url + "/messages/999999")[0] == 404
    assert get(f"{sink.base_url}/messages/{stored['id']}/raw")[0] == 200
    assert get(sink.base_url + "/healthz") == (200, '{"status":"ok"}')


def test_the_log_never_contains_a_link(
    sink: SmtpSink, client: SinkClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    to = address("secret")
    token = secrets.token_urlsafe(32)

    with smtp(sink) as connection:
        connection.login("sender", "sender-password")
        connection.send_message(invitation(to, subject="Invitation", token=token))
    [stored] = client.wait_for(to)
    get(f"{sink.base_url}/messages/{stored['id']}")
    client.message(stored["id"])

    assert f"accepted message id={stored['id']} to={to} subject='Invitation'" in caplog.text
    assert token not in caplog.text
    assert token[:12] not in caplog.text  # a long link is split by quoted-printable in transit
    assert "portal.example.test/invite" not in caplog.text
    assert "sender-password" not in caplog.text


def test_the_api_filters_by_recipient_and_clears(sink: SmtpSink, client: SinkClient) -> None:
    to = address("Filter")
    send(sink, invitation(to))
    client.wait_for(to.upper())

    assert [m["rcpt_tos"] for m in client.messages(to=to.lower())] == [[to]]
    assert client.messages(to="nobody@example.com") == []
    assert client.clear() >= 1
    assert client.messages() == []
    with pytest.raises(SinkError, match="404"):
        client.message(1)


def test_the_oldest_message_is_dropped_when_full() -> None:
    to = address("full")
    with SmtpSink(max_messages=3) as small:
        for i in range(5):
            send(small, invitation(to, subject=f"number {i}"))
        client = small.client()
        assert [m["subject"] for m in client.messages(to=to)] == ["number 2", "number 3", "number 4"]
        assert client.stats() == {"accepted": 5, "rejected": 0, "dropped": 0, "evicted": 2}
        assert [m.id for m in small.messages.find()] == [3, 4, 5]


def test_wait_for_fails_with_a_clear_message(sink: SmtpSink, client: SinkClient) -> None:
    to = address("missing")
    send(sink, invitation(to))

    with pytest.raises(AssertionError, match=rf"2 email\(s\) to '{to}'.*: 1 arrived; .*{to}"):
        client.wait_for(to, count=2, timeout=0.3)


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.smtp_sink", *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(__file__),
    )


def test_the_cli_exits_2_when_a_port_is_taken(sink: SmtpSink) -> None:
    process = _cli("--smtp-port", str(sink.smtp_port), "--http-port", "0")
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 2
    assert f"port {sink.smtp_port} is in use: another SMTP sink running? use --smtp-port" in stderr


def test_the_cli_serves_and_stops_cleanly_on_sigterm() -> None:
    process = _cli("--smtp-port", "0", "--http-port", "0")
    assert process.stderr is not None
    try:
        deadline, output = time.monotonic() + 30, ""
        while "SMTP sink ready" not in output and time.monotonic() < deadline:
            if select.select([process.stderr], [], [], 0.5)[0]:
                output += process.stderr.readline()
        assert "SMTP sink ready" in output, output
        base_url = output.split("emails at ")[1].split("/ ")[0]
        assert SinkClient(base_url).healthy()

        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output + rest
    assert "SMTP sink stopped" in rest
    assert "Traceback" not in output + rest


@pytest.mark.browser
def test_a_person_follows_the_link_in_a_phone_sized_browser(sink: SmtpSink, client: SinkClient) -> None:
    from playwright import sync_api

    chromium = shutil.which("chromium")
    assert chromium, "the browser tests need Debian's chromium: make browser"
    to = address("browser")
    token = secrets.token_urlsafe(32)
    # A link the sink itself answers, so following it needs no portal.
    link = f"{sink.base_url}/healthz?invite={token}"
    send(sink, invitation(to, link=link))
    client.wait_for(to)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 700})
            page.set_default_timeout(10_000)
            page.goto(sink.base_url + "/")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.get_by_role("row").filter(has_text=to).get_by_role("link").click()
            sync_api.expect(page.get_by_role("heading", level=1)).to_have_text("Your portal invitation")

            # In the sandboxed HTML body the link opens a new tab, as in a mail client.
            with page.context.expect_page() as opened:
                page.frame_locator("iframe").get_by_role("link", name="Create your portal account").click()
            opened.value.wait_for_load_state()
            assert opened.value.url == link

            page.get_by_role("link", name=link).click()
            page.wait_for_url(link)
            assert '"status":"ok"' in page.content()
        finally:
            browser.close()
