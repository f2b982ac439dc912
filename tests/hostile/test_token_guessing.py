"""Token guessing is throttled per client address, and nobody else notices.

The suite's gateway allows TOKEN_GUESS_LIMIT unknown-or-unusable token answers per client in any
TOKEN_GUESS_WINDOW_SECONDS (conftest.py); each client here has a loopback address of its own. What
was measured goes to test-artifacts/hostile/token-guessing.json.
"""

from __future__ import annotations

import json
import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hostile"
MEASURED: dict[str, Any] = {}


def guess() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module", autouse=True)
def write_measurements() -> Any:
    yield
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "token-guessing.json").write_text(json.dumps(MEASURED, indent=2) + "\n")


@pytest.fixture(scope="module")
def invited(platform: Any) -> dict[str, Any]:
    """A real, unused invitation link, and its tenant."""
    org = platform.new_organization("Guessed ")
    tenant = org.tenant_with_lease()
    org.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    return {"org": org, "tenant": tenant, "path": platform.path_of(platform.link_in_email(tenant["email"]))}


def test_unknown_invitation_tokens_get_429_after_the_bound_and_nobody_else_notices(platform, invited):
    limit = platform.token_guess_limit
    guesser, bystander, owner = platform.client(), platform.client(), platform.client()
    baseline = [_timed(bystander.get, f"/invite/{guess()}")[1] for _ in range(3)]

    answers = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            answers.append(guesser.get(f"/invite/{guess()}").status_code)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(hammer)
        time.sleep(0.5)
        # While the guesser is refused, another client is answered as before, and the person whose
        # link it is opens it.
        during = [_timed(bystander.get, f"/reset/{guess()}") for _ in range(3)]
        real = owner.get(invited["path"])
        stop.set()

    assert answers[:limit] == [404] * limit
    assert set(answers[limit:]) == {429}, answers
    assert [response.status_code for response, _ in during] == [404] * 3
    assert (real.status_code, platform.heading(real)) == (200, "Create Your Portal Account")

    refused = guesser.get(f"/invite/{guess()}")
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= platform.token_guess_window_seconds + 1
    assert refused.headers["referrer-policy"] == "no-referrer"
    assert "Please wait" in platform.heading(refused)
    # The block covers every token lookup of that client, the real link too: a refusal that
    # depended on the token would tell the guesser which tokens exist.
    assert guesser.get(invited["path"]).status_code == 429
    assert guesser.get(f"/reset/{guess()}").status_code == 429
    form = guesser.get("/login")
    accept = guesser.post(
        "/invite/accept",
        data={
            "csrf_token": platform.csrf(form),
            "token": guess(),
            "password": "x",
            "password_confirmation": "x",
        },
    )
    assert accept.status_code == 429
    # Everything else still works for that client.
    assert guesser.get("/login").status_code == 200

    MEASURED["invite"] = {
        "limit": limit,
        "window_seconds": platform.token_guess_window_seconds,
        "guesses_sent": len(answers),
        "answered_404": answers.count(404),
        "refused_429": answers.count(429),
        "bystander_ms_before": round(statistics.median(baseline) * 1000, 1),
        "bystander_ms_during": round(statistics.median(t for _, t in during) * 1000, 1),
    }

    # Once the oldest failures leave the window, the client may look up links again.
    time.sleep(retry_after + 0.2)
    assert guesser.get(invited["path"]).status_code == 200
    assert guesser.get(f"/invite/{guess()}").status_code == 404


def test_reset_tokens_count_too(platform):
    limit = platform.token_guess_limit
    guesser = platform.client()
    answers = [guesser.get(f"/reset/{guess()}").status_code for _ in range(limit + 3)]
    assert answers == [404] * limit + [429] * 3


def test_used_and_malformed_links_count_as_guesses(platform, invited):
    """Opening the same spent link again and again is guessing too (410 counts, like 404)."""
    limit = platform.token_guess_limit
    person = platform.client()
    used_path = _used_link(platform, invited["org"])
    answers = [person.get(used_path).status_code for _ in range(limit // 2)]
    answers += [person.get("/invite/%00%FF-not-a-token").status_code for _ in range(limit - limit // 2)]
    assert set(answers) <= {404, 410} and len(answers) == limit
    assert person.get(used_path).status_code == 429


def test_parallel_guesses_cannot_outrun_the_bound(platform):
    limit = platform.token_guess_limit
    guesser = platform.client()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: guesser.get(f"/invite/{guess()}").status_code, range(60)))
    MEASURED["parallel"] = {"sent": len(answers), "answered_404": answers.count(404)}
    assert answers.count(404) == limit, answers
    assert answers.count(429) == len(answers) - limit


@pytest.mark.parametrize(
    "spoof",
    [
        lambda n: {"X-Forwarded-For": f"198.51.100.{n}"},
        lambda n: {"X-Real-IP": f"198.51.100.{n}", "X-Client-IP": f"198.51.100.{n}"},
        lambda n: {"Forwarded": f"for=198.51.100.{n}"},
        lambda n: {"X-Forwarded-For": f"198.51.100.{n}, 127.0.0.1"},
    ],
    ids=["x-forwarded-for", "x-real-ip", "forwarded", "x-forwarded-for chain"],
)
def test_headers_naming_another_client_change_nothing(platform, spoof):
    """The gateway believes X-Forwarded-For only from FORWARDED_ALLOW_IPS (none here): a guesser
    who claims a new address with every request is still one client."""
    limit = platform.token_guess_limit
    guesser = platform.client()
    answers = [guesser.get(f"/invite/{guess()}", headers=spoof(n)).status_code for n in range(limit + 3)]
    assert answers == [404] * limit + [429] * 3


def _timed(call: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    response = call(*args)
    return response, time.perf_counter() - started


def _used_link(platform: Any, org: Any) -> str:
    tenant = org.tenant_with_lease()
    org.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    link = platform.link_in_email(tenant["email"])
    platform.accept(link)
    return platform.path_of(link)  # type: ignore[no-any-return]
