"""The fault suite's harness: the whole platform as processes, one platform per test module, on a
database, a RabbitMQ vhost and ports of its own (as `tests/e2e` runs it, but never shared with it:
these tests kill processes, and stop the broker and the database).

The broker and the database are the suite's own (`devtools.private_servers`, started once per
pytest run by the `own_servers` fixture): a PostgreSQL cluster and a RabbitMQ node on ports of
their own, so stopping them never touches the machine's servers (5432, 5672) or whatever else
runs on those.

Sizes: small by default (CI, `make faults`); `FAULTS_FULL=1` (`make faults-full`) runs the sizes of
`docs/reliability.md`. Every case records what it measured with the `results` fixture, written to
`test-artifacts/faults/results.json` and `results.md` as the run goes.

Nothing here asserts a duration: conditions are waited for with a timeout, and a bound is only
ever "did not hang".
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from devtools.isolated import create_organization, isolated
from devtools.prepare import prepare
from devtools.private_servers import SYSTEM_PORTS, PrivateServers, missing_programs, private_servers
from devtools.sink_client import SinkClient, SinkError
from devtools.stack import ProcessSpec, Stack, StackConfig, platform_processes
from shared import faults
from shared.testing.helpers import ADMIN_PASSWORD, random_email, random_name, random_suffix

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "faults"
FULL = os.environ.get("FAULTS_FULL", "") not in ("", "0")
VARIANT = "full" if FULL else "small"
# FAULTS_KEEP=1 keeps the private servers' folder, with each module's database and vhost (every
# process stopped), to look at afterwards.
KEEP = os.environ.get("FAULTS_KEEP", "") not in ("", "0")

RETRY_DELAYS = (0.5, 1.0)  # event handler back-off before the dead-letter queue: 3 attempts
RPC_TIMEOUT_SECONDS = 5.0
HTTP_TIMEOUT_SECONDS = 60.0
# What "did not hang" allows beyond the RPC timeout: the gateway's own work and a busy machine.
HANG_MARGIN_SECONDS = 10.0
CLAIM_LEASE_SECONDS = 10
TENANTS_PER_LEASE = 20

# The platform's settings for every fault module: short back-offs so a case ends in seconds.
PLATFORM_ENV = {
    "ENVIRONMENT": "test",
    "EVENT_RETRY_DELAYS": json.dumps(list(RETRY_DELAYS)),
    "RPC_TIMEOUT_SECONDS": str(RPC_TIMEOUT_SECONDS),
    "RETRY_BASE_SECONDS": "0.5",
    "RETRY_CAP_SECONDS": "2",
    "MAX_ATTEMPTS": "30",
    "SMTP_TIMEOUT_SECONDS": "5",
    "CLAIM_LEASE_SECONDS": str(CLAIM_LEASE_SECONDS),
    "INVITATIONS_PER_STAFF_PER_HOUR": "100000",
    "READINESS_TIMEOUT_SECONDS": "2",
}


def size(small: int, full: int) -> int:
    return full if FULL else small


def wait_until(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll `condition` until it returns something truthy (returned); fail saying `what` if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


# --- staff over the API -----------------------------------------------------------------------


@dataclass
class Tenant:
    id: str
    email: str


@dataclass
class Attempt:
    """One Send Portal Invitation request: when, how it was answered, and how long it took."""

    contact_id: str
    email: str
    started: float  # time.time()
    seconds: float
    status: int | None  # None: no HTTP answer at all (the client's own timeout or connection error)
    invitation_id: str | None = None
    error: str | None = None


class Staff:
    """A staff member of a new organization, using the staff API with its API token."""

    def __init__(self, base_url: str, token: str, organization_id: str) -> None:
        self.base_url = f"{base_url}/api/v1"
        self.token = token
        self.organization_id = organization_id
        self._local = threading.local()

    @property
    def api(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:  # one client per thread
            client = httpx.Client(
                base_url=self.base_url,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            self._local.client = client
        return client

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 201) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code == expect, f"POST {path}: {response.status_code} {response.text}"
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.api.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()  # type: ignore[no-any-return]

    def tenants(self, count: int, tag: str = "tenant", workers: int = 8) -> list[Tenant]:
        """`count` tenants, each on an active lease (so each may be invited), `TENANTS_PER_LEASE`
        co-tenants a lease."""
        prefix = f"{tag}.{random_suffix()}"
        emails = [f"{prefix}.{n:05d}@example.com" for n in range(count)]

        def contact(email: str) -> Tenant:
            body = {"type": "tenant", "first_name": "Tess", "last_name": random_name("T"), "email": email}
            return Tenant(self.post("/contacts", body)["id"], email)

        with ThreadPoolExecutor(workers) as pool:
            made = list(pool.map(contact, emails))
        prop = self.post(
            "/properties",
            {
                "name": random_name("Maple Court "),
                "address_line1": "12 Maple Road",
                "city": "London",
                "postcode": "N1 7AA",
            },
        )

        def lease(group: list[Tenant]) -> None:
            unit = self.post(f"/properties/{prop['id']}/units", {"name": random_name("Flat ")})
            self.post(
                "/leases",
                {
                    "unit_id": unit["id"],
                    "start_date": "2026-01-01",
                    "tenant_contact_ids": [t.id for t in group],
                },
            )

        groups = [made[i : i + TENANTS_PER_LEASE] for i in range(0, len(made), TENANTS_PER_LEASE)]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lease, groups))
        return made

    def invite(self, tenant: Tenant) -> Attempt:
        """Send Portal Invitation, timed; never raises for an error answer. Sent again, it carries
        the same Idempotency-Key, as a staff system retrying a request would."""
        started, clock = time.time(), time.monotonic()
        try:
            response = self.api.post(
                f"/contacts/{tenant.id}/portal-invitations",
                headers={"Idempotency-Key": f"invite-{tenant.id}"},
            )
        except httpx.HTTPError as exc:
            return Attempt(tenant.id, tenant.email, started, time.monotonic() - clock, None, error=repr(exc))
        attempt = Attempt(tenant.id, tenant.email, started, time.monotonic() - clock, response.status_code)
        if response.status_code == 201:
            attempt.invitation_id = response.json()["id"]
        else:
            attempt.error = response.text[:300]
        return attempt

    def invite_all(self, tenants: list[Tenant], workers: int = 8) -> list[Attempt]:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(self.invite, tenants))

    def invite_until_accepted(self, tenants: list[Tenant], timeout: float, workers: int = 8) -> list[Attempt]:
        """Invite each tenant, and invite again those answered with an error, as staff would, until
        every one is accepted (201) or known to exist (429: one went out moments ago). Returns
        every attempt, failed ones included."""
        attempts: list[Attempt] = []
        pending = list(tenants)
        deadline = time.monotonic() + timeout
        while pending:
            round_ = self.invite_all(pending, workers)
            attempts += round_
            pending = [t for t, a in zip(pending, round_, strict=True) if a.status not in (201, 429)]
            if pending:
                assert time.monotonic() < deadline, (
                    f"{len(pending)} invitation(s) still refused after {timeout:g} s: "
                    f"{Counter(a.status for a in round_ if a.status not in (201, 429))}"
                )
                time.sleep(1)
        return attempts

    def invitations(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every invitation of the organization (what staff see), newest first."""
        items: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"limit": 200, "offset": len(items)}
            if state is not None:
                params["state"] = state
            page = self.get("/invitations", **params)
            items += page["items"]
            if len(items) >= page["total"] or not page["items"]:
                return items


# --- the platform -----------------------------------------------------------------------------


@dataclass
class Platform:
    stack: Stack
    config: StackConfig
    sink: SinkClient
    database_url: str
    engine: Engine
    marker_dir: Path
    supervisor_notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.config.gateway_url

    def new_organization(self) -> Staff:
        """An organization made with the admin command, and its admin's API token."""
        created = create_organization(
            self.config, random_name("Lettings "), random_email("admin"), ADMIN_PASSWORD
        )
        return Staff(self.url, created.api_token, str(created.organization.id))

    # --- processes ---

    def arm(self, process: str, point: str) -> Path:
        """Restart `process` armed to crash once at `point` (shared.faults); the marker's path."""
        assert point in faults.POINTS, point
        marker = self.marker_dir / f"{process}-{uuid.uuid4().hex[:8]}"
        marker.touch()
        self.stack.restart_process(
            process, extra_env={faults.CRASH_AT: point, faults.CRASH_MARKER: str(marker)}
        )
        return marker

    def disarm(self, process: str) -> None:
        """Restart `process` with the platform's environment only."""
        self.stack.restart_process(process, extra_env={})

    def wait_ready(self, timeout: float = 120) -> None:
        self.stack.wait_ready(timeout)

    def restarts_since(self, index: int) -> list[dict[str, Any]]:
        """The restarts the supervisor made since `restart_log[index]`, each with why the process
        had exited (from its last output)."""
        return [
            {"process": r.name, "exit_code": r.code, "at": r.at, "why": exit_reason(r.last_output)}
            for r in self.stack.restart_log[index:]
        ]

    def dead_letters(self) -> dict[str, int]:
        """The platform's dead-letter queues that hold something, with their message counts."""
        from shared.deadletters import list_dead_letters

        return {
            q.name: q.message_count
            for q in list_dead_letters(self.config.amqp_uri, limit=0)
            if q.message_count
        }

    # --- emails ---

    def emails(self) -> list[dict[str, Any]]:
        return self.sink.messages()

    def emails_to(self, recipients: set[str]) -> list[dict[str, Any]]:
        wanted = {r.lower() for r in recipients}
        return [m for m in self.emails() if any(r.lower() in wanted for r in m["rcpt_tos"])]

    def wait_for_emails(self, recipients: set[str], timeout: float) -> list[dict[str, Any]]:
        """Until every recipient has at least one email; the emails to them."""
        found: list[dict[str, Any]] = []

        def everyone() -> bool:
            nonlocal found
            try:
                found = self.emails_to(recipients)
            except (OSError, SinkError):
                return False
            return {r.lower() for m in found for r in m["rcpt_tos"]} >= {r.lower() for r in recipients}

        try:
            wait_until(everyone, timeout, f"{len(recipients)} recipients' emails", every=0.5)
        except AssertionError:
            got = {r.lower() for m in found for r in m["rcpt_tos"]}
            missing = sorted({r.lower() for r in recipients} - got)
            raise AssertionError(
                f"{len(missing)} of {len(recipients)} recipients got no email within {timeout:g} s "
                f"(first: {missing[:5]})"
            ) from None
        return found

    # --- the database (this run's own): what the services recorded ---

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def query_commit(self, sql: str) -> None:
        """Run statements (no parameters, so `%` is literal) in their own committed transaction."""
        import psycopg

        with psycopg.connect(self.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            conn.execute(sql.encode())

    def invitation_rows(self, recipients: set[str]) -> list[Any]:
        """The invitations to these addresses."""
        return self.query(
            "SELECT id, email, state FROM invitations.invitations WHERE email = ANY(:emails)",
            emails=sorted(recipients),
        )

    def delivery_rows(self, recipients: set[str]) -> list[Any]:
        """The deliveries (emails) to these addresses and how sending each went."""
        return self.query(
            "SELECT id, subject_id, recipient, status, attempts, last_smtp_code, last_error"
            " FROM notifications.deliveries WHERE recipient = ANY(:emails)",
            emails=sorted(recipients),
        )


_CONTAINER_KILLED = re.compile(r"killing <ServiceContainer \[\w+\] at 0x[0-9a-f]+> due to (.+)")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Shutdown|Refused)\w*: .+")


def exit_reason(output: str) -> str:
    """Why a process exited, from the end of its output: nameko's first "killing <container> due
    to ..." line if there is one (the cause; what follows is the shutdown), else the last exception
    line, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if match := _CONTAINER_KILLED.search(line):
            return f"nameko killed the service container: {match.group(1)}"[:300]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def count_emails(emails: list[dict[str, Any]], recipients: set[str]) -> dict[str, int]:
    """Emails received, distinct emails (by Message-ID), duplicates, and recipients reached."""
    by_id = Counter(m["message_id"] for m in emails)
    reached = {r.lower() for m in emails for r in m["rcpt_tos"]}
    wanted = {r.lower() for r in recipients}
    return {
        "emails_received": len(emails),
        "distinct_emails": len(by_id),
        "duplicates": sum(n - 1 for n in by_id.values()),
        "recipients_reached": len(reached & wanted),
        "lost": len(wanted - reached),
    }


def with_senders(config: StackConfig, senders: int) -> list[ProcessSpec]:
    """The platform's processes, with `senders` SMTP senders in all."""
    processes = platform_processes(config)
    [sender] = [spec for spec in processes if spec.name == "sender"]
    return processes + [ProcessSpec(f"sender-{n}", sender.argv, sender.env) for n in range(2, senders + 1)]


def sender_logs(platform: Platform) -> str:
    """What every sender process wrote (`sender.log`, `sender-2.log`, ...)."""
    return "\n".join(
        path.read_text(errors="replace") for path in sorted(platform.stack.log_dir.glob("sender*.log"))
    )


def process_env(platform_env: dict[str, str]) -> dict[str, str]:
    return {**PLATFORM_ENV, **platform_env}


def assert_not_the_machines_servers(config: StackConfig) -> None:
    """A platform of this suite never runs on the machine's own PostgreSQL or RabbitMQ."""
    ports = {make_url(config.database_url).port, urllib.parse.urlsplit(config.amqp_uri).port}
    assert not ports & SYSTEM_PORTS, f"the fault suite must run on its own servers, not on {ports}"


@pytest.fixture(scope="session")
def own_servers() -> Iterator[PrivateServers]:
    """The suite's own PostgreSQL cluster and RabbitMQ node, for the whole run: every platform runs
    on them, and the outages stop and start them only. Torn down at the end, their logs kept in
    `test-artifacts/faults/logs/servers/`."""
    missing = missing_programs()
    if missing:
        pytest.skip(f"the fault suite runs its own PostgreSQL and RabbitMQ; not installed: {missing}")
    with private_servers("portal-faults", keep_logs=ARTIFACTS / "logs" / "servers", keep=KEEP) as servers:
        yield servers


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, own_servers: PrivateServers) -> Iterator[Platform]:
    """The whole platform for this module, on the suite's own servers, supervised: a process that
    dies is started again at once, as in `make up` or on a cluster (the fault cases count on it,
    and some check it did not have to happen). A module may set `MODULE_ENV = {...}` over
    PLATFORM_ENV, and `MODULE_SENDERS = n` for n sender processes (`sender`, `sender-2`, ...)
    sharing the deliveries, as replicas do."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    env = process_env(getattr(request.module, "MODULE_ENV", {}))
    retry_delays = tuple(json.loads(env["EVENT_RETRY_DELAYS"]))
    log_dir = ARTIFACTS / "logs" / module
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    with isolated(
        "portal_faults",
        keep=KEEP,
        database_url=own_servers.database_url,
        amqp_uri=own_servers.amqp_uri,
        management=own_servers.management,
    ) as servers:
        config = servers.stack_config(env)
        assert_not_the_machines_servers(config)
        marker_dir = ARTIFACTS / "markers" / servers.name
        marker_dir.mkdir(parents=True, exist_ok=True)
        stack = Stack(
            config, log_dir, processes=with_senders(config, getattr(request.module, "MODULE_SENDERS", 1))
        )
        engine = create_engine(servers.database_url, pool_size=2, pool_pre_ping=True)
        platform = Platform(
            stack, config, SinkClient(config.mail_url), servers.database_url, engine, marker_dir
        )
        stopping = threading.Event()

        def supervise() -> None:
            while not stopping.wait(0.2):
                platform.supervisor_notes.extend(stack.supervise())

        supervisor = threading.Thread(target=supervise, name="supervisor", daemon=True)
        try:
            prepare(
                servers.database_url,
                servers.amqp_uri,
                retry_delays,
                say=lambda _: None,
                management=servers.management,
            )
            stack.start()
            stack.wait_ready(timeout=120)
            supervisor.start()
            yield platform
        finally:
            stopping.set()
            if supervisor.is_alive():
                supervisor.join(timeout=5)
            stack.stop()
            engine.dispose()
            own_servers.ensure_running()  # before the database and vhost are removed
            for marker in marker_dir.glob("*"):
                marker.unlink()
            marker_dir.rmdir()


# --- results ----------------------------------------------------------------------------------


class Results:
    """What each case measured, written after every case so a failed run keeps what it had."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cases: dict[str, dict[str, Any]] = {}
        self.started = datetime.now().astimezone().isoformat(timespec="seconds")
        self.current_test = ""
        self._cases_of: dict[str, list[str]] = {}

    def record(self, case: str, **measured: Any) -> None:
        """What a case measured; its `result` is replaced by the failure if the test then fails."""
        self.cases[case] = {"variant": VARIANT, **measured}
        self._cases_of.setdefault(self.current_test, []).append(case)
        self.write()

    def test_failed(self, test: str, reason: str) -> None:
        for case in self._cases_of.get(test, []):
            self.cases[case]["result"] = f"FAILED: {reason}"[:300]
        if self._cases_of.get(test):
            self.write()

    def write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        document = {"variant": VARIANT, "started": self.started, "cases": self.cases}
        (self.directory / "results.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
        (self.directory / "results.md").write_text(markdown(document))


# The table's columns: (heading, key).
COLUMNS = (
    ("case", "case"),
    ("invitations", "invitations"),
    ("emails received", "emails_received"),
    ("lost", "lost"),
    ("duplicates", "duplicates"),
    ("attempts", "attempts"),
    ("outage (s)", "outage_seconds"),
    ("restarts", "restarts"),
    ("result", "result"),
)


def markdown(document: dict[str, Any]) -> str:
    lines = [
        f"Fault suite, {document['variant']} variant, started {document['started']}.",
        "",
        "| " + " | ".join(h for h, _ in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for case, row in sorted(document["cases"].items()):
        cells = [(case if key == "case" else _cell(row.get(key))).replace("|", "\\|") for _, key in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [(case, row["note"]) for case, row in sorted(document["cases"].items()) if row.get("note")]
    if notes:
        lines += ["", *[f"- **{case}**: {note}" for case, note in notes]]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


_RESULTS = Results(ARTIFACTS)


@pytest.fixture(scope="session")
def results() -> Results:
    return _RESULTS


@pytest.fixture(autouse=True)
def _results_of_this_test(request: pytest.FixtureRequest) -> None:
    _RESULTS.current_test = request.node.nodeid


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A case recorded before its assertions failed is written down as failed, with why."""
    report = yield
    if report.when == "call" and report.failed:
        message = call.excinfo.exconly().splitlines()[0] if call.excinfo else "failed"
        _RESULTS.test_failed(item.nodeid, message)
    return report
