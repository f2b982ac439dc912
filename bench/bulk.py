"""`python -m bench.bulk` (`make bench-bulk`): 10,000 contacts invited through the staff API, until
the SMTP sink has accepted every email, beside raw aiosmtplib throughput into the same sink.

Setup (not timed): an organization, and `--contacts` tenants made through the staff API as staff
would (POST /contacts, then POST /leases with up to 20 tenants each, so every one is eligible), plus
one more tenant invited alone, whose email is the raw contender's message and warms the pipeline up.
The invitations service's per-staff hourly limit (5,000 by default) is raised for the run: one bulk
of 10,000 is the point.

Timed, one run: from the first byte of POST /api/v1/portal-invitations/bulk (all the contacts by id)
until the sink holds every email; meanwhile the job's progress (GET .../bulk/{id}, what staff see)
and the sink's count are polled and kept as a time series. Then, to show where the time goes: when
the API answered 202, when every contact had been processed (invitations issued), when the first
and the last email reached the sink (the sink's own receive times), and when staff saw every email
delivered.

Raw floor, same run, same sink (cleared before each): the same number of emails, each the bytes of
a real invitation email from this run, sent by plain aiosmtplib (`sendmail`, nothing rendered, no
database) over as many concurrent connections as the sender uses (`SENDER_CONCURRENCY`), once
before the bulk and once after. The target is judged against the faster of the two.

`--sink-delay-ms 50` makes the sink take 50 ms per email before its 250 reply, the pace of a real
relay, for the bulk and the raw runs alike: then SMTP, not the CPU, sets the pace of both.

Lost: contacts of the bulk with no email in the sink; duplicated: recipients with more than one.

Target: end-to-end emails/s at least 0.5x raw aiosmtplib's; 0 lost, 0 duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any

import aiosmtplib
import httpx

from bench.bulk_report import report
from bench.bulk_run import run_bulk
from bench.common.cli import argument_parser, say
from bench.common.cpu import CpuMeter, broker_pid
from bench.common.emails import count_deliveries
from bench.common.machine import command_line
from bench.common.platform import HTTP_TIMEOUT, BenchPlatform, bench_platform
from bench.common.results import Results
from devtools.prepare import REPO
from devtools.sink_client import SinkClient
from notifications.settings import NotificationsSettings
from shared.contracts.invitations import MAX_BULK_CONTACTS

TENANTS_PER_LEASE = 20  # the most one lease takes (shared.contracts.properties.CreateLease)
RAW_WARMUP = 200
SETUP_ATTEMPTS = 90  # 2 s apart: rides out a broker or database restart during setup
MAIL_FROM = "no-reply@portal.localhost"
SINK_READ_TIMEOUT = 600  # reading every email back parses each one (a few ms each)
PLATFORM_CPU = ("gateway", "invitations", "notifications", "sender", "smtp-sink", "contacts", "properties")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser("bench.bulk", __doc__, "bulk")
    parser.add_argument(
        "--contacts",
        type=int,
        default=MAX_BULK_CONTACTS,
        help=f"contacts invited in one bulk (default {MAX_BULK_CONTACTS})",
    )
    parser.add_argument(
        "--sender-concurrency",
        type=int,
        default=NotificationsSettings.model_fields["sender_concurrency"].default,
        help="SMTP connections of the sender, and of the raw contender (default: the setting's default)",
    )
    parser.add_argument(
        "--sink-delay-ms",
        type=int,
        default=0,
        help="the sink's pause before each 250 reply, for the bulk and the raw runs alike "
        "(default 0; 50 is the pace of a real relay, as in bench.sender_scaling)",
    )
    parser.add_argument(
        "--setup-concurrency", type=int, default=8, help="API requests in flight during setup (default 8)"
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=0.5, help="progress polled this often (default 0.5)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="give up on the bulk after this many s (default 1800)"
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=5.0,
        help="wait this long after the last email for late duplicates (default 5)",
    )
    args = parser.parse_args(argv)
    if args.sink_delay_ms < 0:
        parser.error("--sink-delay-ms must be 0 or more")
    if args.contacts < 1 or args.contacts > MAX_BULK_CONTACTS:
        parser.error(
            f"--contacts must be from 1 to {MAX_BULK_CONTACTS} "
            f"(one bulk invitation takes at most {MAX_BULK_CONTACTS})"
        )
    return args


# --- setup ------------------------------------------------------------------------------------


async def make_tenants(url: str, token: str, count: int, concurrency: int) -> list[dict[str, Any]]:
    """`count` tenants through the staff API, each on a current lease (20 to a lease, one unit)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
        limits=limits,
    ) as api:
        gate = asyncio.Semaphore(concurrency)

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            """POST, retried through a broker or database restart (503, 504, no answer)."""
            async with gate:
                for attempt in range(SETUP_ATTEMPTS):
                    try:
                        response = await api.post(path, json=body)
                    except httpx.TransportError:
                        await asyncio.sleep(2)
                        continue
                    if response.status_code == 201:
                        return response.json()  # type: ignore[no-any-return]
                    existing = response.json().get("error", {}).get("details", {}).get("existing_contact_id")
                    if response.status_code == 409 and attempt and existing:
                        # An earlier attempt went through after all (it timed out at the gateway).
                        again = await api.get(f"/contacts/{existing}")
                        again.raise_for_status()
                        return again.json()  # type: ignore[no-any-return]
                    if response.status_code < 500:
                        raise RuntimeError(
                            f"POST {path} answered {response.status_code}: {response.text[:300]}"
                        )
                    await asyncio.sleep(2)
            raise RuntimeError(f"POST {path} kept failing ({SETUP_ATTEMPTS} attempts)")

        prop = await post(
            "/properties",
            {"name": "Bulk House", "address_line1": "1 Bulk Street", "city": "London", "postcode": "E1 6AN"},
        )
        unit = await post(f"/properties/{prop['id']}/units", {"name": "Flat 1"})
        run = uuid.uuid4().hex[:8]
        started = time.perf_counter()
        tenants = await asyncio.gather(
            *(
                post(
                    "/contacts",
                    {
                        "type": "tenant",
                        "first_name": "Tess",
                        "last_name": f"Tenant {n}",
                        "email": f"bulk.{run}.{n}@example.com",
                    },
                )
                for n in range(count)
            )
        )
        say(f"{count} contacts made in {time.perf_counter() - started:.1f} s; leases ...")
        started = time.perf_counter()
        await asyncio.gather(
            *(
                post(
                    "/leases",
                    {
                        "unit_id": unit["id"],
                        "start_date": "2026-01-01",
                        "tenant_contact_ids": [t["id"] for t in tenants[n : n + TENANTS_PER_LEASE]],
                    },
                )
                for n in range(0, count, TENANTS_PER_LEASE)
            )
        )
        say(f"{-(-count // TENANTS_PER_LEASE)} leases made in {time.perf_counter() - started:.1f} s")
        return list(tenants)


# --- the raw floor ----------------------------------------------------------------------------


async def send_raw(
    host: str, port: int, message: bytes, count: int, concurrency: int, tag: str
) -> dict[str, Any]:
    """`count` copies of `message`, each to its own recipient, over `concurrency` connections."""
    numbers = iter(range(count))
    done_at: list[float] = []
    started = time.perf_counter()
    cpu_started = time.process_time()

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname=host, port=port, timeout=30, local_hostname="portal.localhost")
        await smtp.connect()
        try:
            for n in numbers:  # one iterator shared by every connection: each email once
                await smtp.sendmail(MAIL_FROM, [f"raw.{tag}.{n}@example.com"], message)
                done_at.append(time.perf_counter() - started)
        finally:
            await smtp.quit()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "client_cpu": round(time.process_time() - cpu_started, 3),
        "emails": count,
        "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
        "done_at": done_at,
    }


def raw_floor(
    platform: BenchPlatform,
    message: bytes,
    count: int,
    concurrency: int,
    tag: str,
    meter: CpuMeter,
) -> dict[str, Any]:
    platform.sink.clear()
    baseline = platform.sink.stats()["accepted"]
    answer = meter.measure(
        lambda: asyncio.run(
            send_raw(platform.config.host, platform.config.smtp_port, message, count, concurrency, tag)
        )
    )
    accepted = platform.sink.stats()["accepted"] - baseline
    if accepted != count:
        raise RuntimeError(f"raw: the sink accepted {accepted} of {count} emails")
    answer["server_cpu"] = {k: round(v, 2) for k, v in answer["server_cpu"].items()}
    say(f"raw aiosmtplib ({tag}): {count} emails in {answer['seconds']:.1f} s, {answer['per_second']:.0f}/s")
    return answer


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Results(args.name, command_line(), title="Bulk invitations")
    results.data["settings"] = vars(args)
    n = args.contacts
    # One bulk of 10,000 is the point; the default hourly limit per staff member is 5,000.
    hourly_limit = max(5_000, 2 * n + 100)
    results.data["settings"]["invitations_per_staff_per_hour"] = hourly_limit
    measured: dict[str, Any] = {}
    try:
        with bench_platform(
            args.name,
            processes=list(PLATFORM_CPU),
            process_env={
                "invitations": {"INVITATIONS_PER_STAFF_PER_HOUR": str(hourly_limit)},
                "sender": {"SENDER_CONCURRENCY": str(args.sender_concurrency)},
            },
        ) as platform:
            staff = platform.new_organization()
            say(
                f"making {n} tenants with leases through the staff API "
                f"({args.setup_concurrency} requests in flight) ..."
            )
            setup_started = time.perf_counter()
            tenants = asyncio.run(make_tenants(platform.url, staff.api_token, n + 1, args.setup_concurrency))
            setup_seconds = time.perf_counter() - setup_started
            warmup_tenant, tenants = tenants[0], tenants[1:]
            staff.invite(warmup_tenant["id"])
            [email] = platform.sink.wait_for(warmup_tenant["email"], timeout=60)
            message = platform.sink.message(email["id"])["raw"].encode()
            say(f"one invitation alone went through; its email ({len(message)} bytes) is the raw message")
            meter = CpuMeter({**{name: platform.pid(name) for name in PLATFORM_CPU}, "broker": broker_pid()})
            if args.sink_delay_ms:
                platform.sink.set_faults(delay_ms=args.sink_delay_ms)
            host, port = platform.config.host, platform.config.smtp_port
            asyncio.run(send_raw(host, port, message, RAW_WARMUP, args.sender_concurrency, "warmup"))
            measured["raw_before"] = raw_floor(platform, message, n, args.sender_concurrency, "before", meter)
            platform.sink.clear()
            evicted_before = platform.sink.stats()["evicted"]
            say(f"bulk: inviting {n} contacts in one request ...")
            bulk = run_bulk(platform, staff, [t["id"] for t in tenants], args, meter)
            evicted = platform.sink.stats()["evicted"] - evicted_before
            say("reading every email back from the sink ...")
            messages = SinkClient(platform.config.mail_url, timeout=SINK_READ_TIMEOUT).messages()
            measured["raw_after"] = raw_floor(platform, message, n, args.sender_concurrency, "after", meter)
    except KeyboardInterrupt:
        print("Stopped; nothing written.", file=sys.stderr)
        return 130
    counts = count_deliveries(messages, [t["email"] for t in tenants])
    counts["evicted"] = evicted
    results.data["setup"] = {
        "how": "through the staff API: POST /contacts for each tenant, POST /leases for each 20",
        "seconds": round(setup_seconds, 1),
        "raw_message_bytes": len(message),
    }
    report(results, args, bulk, messages, counts, measured)
    for path in results.write(doc=True):
        print(f"wrote {path.relative_to(REPO)}")
    print(results.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
