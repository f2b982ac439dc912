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
import contextlib
import math
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bench import common
from devtools.sink_client import SinkClient
from notifications.settings import NotificationsSettings
from shared.contracts.invitations import MAX_BULK_CONTACTS
from shared.topology import Subscription

TARGET = 0.5
TENANTS_PER_LEASE = 20  # the most one lease takes (shared.contracts.properties.CreateLease)
RAW_WARMUP = 200
SETUP_ATTEMPTS = 90  # 2 s apart: rides out a broker or database restart during setup
MAIL_FROM = "no-reply@portal.localhost"
SINK_READ_TIMEOUT = 600  # reading every email back parses each one (a few ms each)
POSTGRES = "postgres (all processes)"
RAW_CLIENT = "raw aiosmtplib client"
PLATFORM_CPU = ("gateway", "invitations", "notifications", "sender", "smtp-sink", "contacts", "properties")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = common.argument_parser("bench.bulk", __doc__, "bulk")
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


def say(line: str) -> None:
    print(f"  {line}", flush=True)


# --- setup ------------------------------------------------------------------------------------


async def make_tenants(url: str, token: str, count: int, concurrency: int) -> list[dict[str, Any]]:
    """`count` tenants through the staff API, each on a current lease (20 to a lease, one unit)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=common.HTTP_TIMEOUT,
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


# --- the timed bulk ---------------------------------------------------------------------------


@dataclass
class BulkRun:
    started_wall: datetime
    accepted_s: float = math.nan  # the 202
    processed_s: float = math.nan  # every contact processed (first poll that saw it)
    sink_all_s: float = math.nan  # every email in the sink (first poll that saw it)
    delivered_s: float = math.nan  # staff see every email delivered
    job: dict[str, Any] = field(default_factory=dict)  # the last progress read
    timeline: list[dict[str, Any]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False
    poll_errors: int = 0  # progress reads that failed (a broker or database restart meanwhile)


def run_bulk(
    platform: common.BenchPlatform,
    staff: common.StaffApi,
    contact_ids: list[str],
    args: argparse.Namespace,
    meter: common.CpuMeter,
) -> BulkRun:
    sink = platform.sink
    db = create_engine(platform.database_url, pool_size=1)
    baseline = sink.stats()["accepted"]
    total = len(contact_ids)
    run = BulkRun(started_wall=datetime.now(UTC))
    cpu_start = {name: common.process_cpu_seconds(pid) for name, pid in meter.pids.items()}
    postgres_start = postgres_cpu_seconds()
    started = time.perf_counter()
    response = staff.api.post("/portal-invitations/bulk", json={"contact_ids": contact_ids})
    run.accepted_s = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"the bulk request answered {response.status_code}: {response.text[:500]}")
    location = response.headers["Location"].removeprefix("/api/v1")
    deadline = started + args.timeout
    while True:
        time.sleep(args.poll_seconds)
        try:
            job = staff.get(location)
            in_sink = sink.stats()["accepted"] - baseline
            waiting = backlog(platform, db)
        except (RuntimeError, httpx.HTTPError, OSError, SQLAlchemyError) as exc:
            # A broker or database restart (someone else's test, here): the run goes on without
            # us, and the result says that it happened.
            run.poll_errors += 1
            if run.poll_errors == 1 or run.poll_errors % 20 == 0:
                say(f"progress poll failed ({str(exc)[:120]}); polling on")
            if time.perf_counter() > deadline:
                run.timed_out = True
                break
            continue
        now = time.perf_counter() - started
        run.job = job
        run.timeline.append(
            {
                "t": round(now, 3),
                "processed": job["processed"],
                "invited": job["invited"],
                "skipped": job["skipped"],
                "delivered": job["delivered"],
                "bounced": job["bounced"],
                "in_sink": in_sink,
                **waiting,
            }
        )
        if job["processed"] >= total and math.isnan(run.processed_s):
            run.processed_s = now
        done_processing = job["processed"] >= total
        if done_processing and in_sink >= job["invited"] and math.isnan(run.sink_all_s):
            run.sink_all_s = now
            say(f"every email in the sink after {now:.1f} s; waiting for staff to see them delivered")
        if done_processing and job["delivered"] + job["bounced"] >= job["invited"]:
            run.delivered_s = now
        if not math.isnan(run.sink_all_s) and not math.isnan(run.delivered_s):
            break
        if time.perf_counter() > deadline:
            run.timed_out = True
            say(f"gave up after {args.timeout:g} s: {job} and {in_sink} emails in the sink")
            break
        if len(run.timeline) % max(1, int(5 / args.poll_seconds)) == 0:
            say(
                f"{now:6.1f} s: processed {job['processed']}, invited {job['invited']}, "
                f"skipped {job['skipped']}, in the sink {in_sink}, delivered {job['delivered']}"
            )
    run.cpu = {
        name: round(common.process_cpu_seconds(pid) - cpu_start[name], 2)
        for name, pid in meter.pids.items()
        if name in cpu_start
    }
    run.cpu[POSTGRES] = round(postgres_cpu_seconds() - postgres_start, 2)
    db.dispose()
    time.sleep(args.settle_seconds)  # a duplicate would come late: give it the time to arrive
    return run


# Where the work waits, sampled with the progress: the event queues (RabbitMQ's management figures,
# refreshed every 5 s), the deliveries not yet sent and the events not yet published.
BACKLOG_QUEUES = {
    "invitation_sent events for notifications": Subscription(
        "invitations", "invitation_sent", "notifications", "on_invitation_sent"
    ).queue,
    "delivery_queued events for invitations": Subscription(
        "notifications", "delivery_queued", "invitations", "on_delivery_queued"
    ).queue,
    "delivery_succeeded events for invitations": Subscription(
        "notifications", "delivery_succeeded", "invitations", "on_delivery_succeeded"
    ).queue,
}
UNPUBLISHED = "SELECT count(*) FROM {}.outbox WHERE published_at IS NULL"
BACKLOG_SQL = {
    "deliveries queued or sending (sender)": (
        "SELECT count(*) FROM notifications.deliveries WHERE status IN ('queued', 'sending')"
    ),
    "unpublished events, invitations outbox": UNPUBLISHED.format("invitations"),
    "unpublished events, notifications outbox": UNPUBLISHED.format("notifications"),
}


def backlog(platform: common.BenchPlatform, db: Engine) -> dict[str, int]:
    queues = {str(q.get("name")): q for q in platform.management.queues(platform.vhost)}
    found = {
        label: int(queues.get(name, {}).get("messages") or 0)  # type: ignore[call-overload]
        for label, name in BACKLOG_QUEUES.items()
    }
    with db.connect() as conn:
        for label, sql in BACKLOG_SQL.items():
            found[label] = int(conn.execute(text(sql)).scalar() or 0)
    return found


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process now running (backends that ended meanwhile are missed,
    and other databases' work is included: a rough figure, like the broker's)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "postgres":
                total += common.process_cpu_seconds(int(comm.parent.name))
    return total


def count_deliveries(messages: list[dict[str, Any]], emails: list[str]) -> dict[str, Any]:
    """Lost: wanted recipients with no email; duplicated: recipients with more than one."""
    received = Counter(r.lower() for m in messages for r in m["rcpt_tos"])
    wanted = {e.lower() for e in emails}
    lost = sorted(wanted - set(received))
    duplicated = sorted(r for r, n in received.items() if n > 1)
    strangers = sorted(set(received) - wanted)
    return {
        "emails": len(messages),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "duplicate_emails": sum(received[r] - 1 for r in duplicated),
        "unexpected_recipients": len(strangers),
        "lost_examples": lost[:10],
        "duplicated_examples": duplicated[:10],
    }


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
    platform: common.BenchPlatform,
    message: bytes,
    count: int,
    concurrency: int,
    tag: str,
    meter: common.CpuMeter,
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
    results = common.Results(args.name, common.command_line(), title="Bulk invitations")
    results.data["settings"] = vars(args)
    n = args.contacts
    # One bulk of 10,000 is the point; the default hourly limit per staff member is 5,000.
    hourly_limit = max(5_000, 2 * n + 100)
    results.data["settings"]["invitations_per_staff_per_hour"] = hourly_limit
    measured: dict[str, Any] = {}
    try:
        with common.bench_platform(
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
            meter = common.CpuMeter(
                {**{name: platform.pid(name) for name in PLATFORM_CPU}, "broker": common.broker_pid()}
            )
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
        print(f"wrote {path.relative_to(common.REPO)}")
    print(results.markdown())
    return 0


def cumulative(times: list[float], points: int = 400) -> tuple[list[float], list[float]]:
    """A running count over sorted times, thinned to about `points` steps (the last one kept)."""
    ordered = sorted(times)
    step = max(1, len(ordered) // points)
    picked = list(range(0, len(ordered), step))
    if ordered and picked[-1] != len(ordered) - 1:
        picked.append(len(ordered) - 1)
    return [0.0] + [ordered[i] for i in picked], [0.0] + [float(i + 1) for i in picked]


def report(
    results: common.Results,
    args: argparse.Namespace,
    bulk: BulkRun,
    messages: list[dict[str, Any]],
    counts: dict[str, Any],
    measured: dict[str, Any],
) -> None:
    n = args.contacts
    job = bulk.job
    arrivals = [
        (datetime.fromisoformat(m["received_at"]) - bulk.started_wall).total_seconds() for m in messages
    ]
    first_s = min(arrivals) if arrivals else math.nan
    last_s = max(arrivals) if arrivals else math.nan
    invited = job.get("invited", 0)
    end_to_end = round(invited / last_s, 1) if arrivals else math.nan
    window = round(invited / (last_s - first_s), 1) if len(arrivals) > 1 else math.nan
    raw_done = {tag: measured[tag].pop("done_at") for tag in ("raw_before", "raw_after")}
    raw_rates = {tag: measured[tag]["per_second"] for tag in raw_done}
    floor_tag = max(raw_rates, key=lambda tag: raw_rates[tag])
    floor = raw_rates[floor_tag]
    ratio = common.ratio(end_to_end, floor)
    server_processing = math.nan
    if job.get("finished_at"):
        created = datetime.fromisoformat(job["created_at"])
        server_processing = (datetime.fromisoformat(job["finished_at"]) - created).total_seconds()
    results.data.update(
        {
            "bulk": {
                "invited": invited,
                "skipped": job.get("skipped"),
                "skipped_reasons": job.get("skipped_reasons"),
                "api_accepted_s": round(bulk.accepted_s, 3),
                "processed_s_polled": round(bulk.processed_s, 2),
                "processing_s_server": round(server_processing, 2),
                "first_email_s": round(first_s, 3),
                "last_email_s": round(last_s, 3),
                "sink_all_s_polled": round(bulk.sink_all_s, 2),
                "staff_see_delivered_s": round(bulk.delivered_s, 2),
                "emails_per_second_end_to_end": end_to_end,
                "emails_per_second_sending_window": window,
                "timed_out": bulk.timed_out,
                "poll_errors": bulk.poll_errors,
                "cpu_seconds": bulk.cpu,
                "last_progress": job,
            },
            "raw": measured,
            "raw_floor": {"run": floor_tag, "per_second": floor},
            "ratio_end_to_end_vs_raw": ratio,
            "deliveries": counts,
            "timeline": bulk.timeline,
        }
    )
    conc = args.sender_concurrency
    results.table(
        f"Emails per second into the same SMTP sink ({n} emails each, {conc} SMTP connections"
        + (f", {args.sink_delay_ms} ms before each 250 reply)" if args.sink_delay_ms else ")"),
        ["contender", "emails", "seconds", "emails/s", "vs raw floor"],
        [
            [
                "bulk through the API, end to end (first request to last email in the sink)",
                invited,
                round(last_s, 2),
                end_to_end,
                f"{ratio:.2f}x",
            ],
            [
                "bulk, sending window only (first to last email in the sink)",
                invited,
                round(last_s - first_s, 2),
                window,
                f"{common.ratio(window, floor):.2f}x",
            ],
            *[
                [
                    f"raw aiosmtplib `sendmail`, {tag.removeprefix('raw_')} the bulk"
                    + (" (floor)" if tag == floor_tag else ""),
                    measured[tag]["emails"],
                    measured[tag]["seconds"],
                    measured[tag]["per_second"],
                    f"{common.ratio(measured[tag]['per_second'], floor):.2f}x",
                ]
                for tag in raw_done
            ],
        ],
    )

    def rate(count: int, seconds: float) -> Any:
        return round(count / seconds, 1) if seconds and not math.isnan(seconds) else ""

    results.table(
        "Where the time goes (seconds from the first byte of the bulk request)",
        ["phase", "at s", "per s"],
        [
            [f"API answered 202: job recorded for {n} contacts", round(bulk.accepted_s, 3), ""],
            [
                "every contact processed, invitations issued (job's own finished_at - created_at)",
                round(server_processing, 2),
                rate(job.get("processed", 0), server_processing),
            ],
            ["... as the progress poll saw it", round(bulk.processed_s, 2), ""],
            ["first email in the sink", round(first_s, 3), ""],
            ["last email in the sink (the timed total)", round(last_s, 2), rate(invited, last_s)],
            [
                "staff see every email delivered (progress poll)",
                round(bulk.delivered_s, 2),
                rate(job.get("delivered", 0), bulk.delivered_s),
            ],
        ],
    )
    reasons = ", ".join(f"{k} {v}" for k, v in (job.get("skipped_reasons") or {}).items()) or "-"
    results.table(
        "Lost and duplicated emails",
        ["contacts", "invited", "skipped", "emails in the sink", "lost", "duplicated", "evicted by the sink"],
        [
            [
                n,
                invited,
                f"{job.get('skipped', 0)} ({reasons})",
                counts["emails"],
                counts["lost"],
                counts["duplicated"],
                counts["evicted"],
            ]
        ],
    )
    names = [name for name in bulk.cpu if bulk.cpu[name] > 0]
    raw_cpu = {
        tag: {**measured[tag]["server_cpu"], RAW_CLIENT: measured[tag]["client_cpu"]} for tag in raw_done
    }
    rows = [
        [
            name,
            *[
                round(cpu.get(name, 0) / max(1, emails) * 1000, 2)
                for cpu, emails in [
                    (bulk.cpu, invited),
                    (raw_cpu["raw_before"], n),
                    (raw_cpu["raw_after"], n),
                ]
            ],
        ]
        for name in [*names, RAW_CLIENT]
    ]
    rows.append(["total", *[round(sum(row[k] for row in rows), 2) for k in (1, 2, 3)]])
    results.table(
        "CPU per email during the bulk and the raw runs (ms)",
        ["process", "bulk", "raw before", "raw after"],
        rows,
    )
    results.text(
        f"Setup (not timed): {n} tenants made through the staff API in "
        f"{results.data['setup']['seconds']:.0f} s (POST /contacts each, POST /leases for each 20), "
        f"and one more invited alone first; its email ({results.data['setup']['raw_message_bytes']:,} bytes) "
        "is what the raw contender sends. The invitations service ran with "
        f"INVITATIONS_PER_STAFF_PER_HOUR={results.data['settings']['invitations_per_staff_per_hour']} "
        "(default 5,000). CPU: each platform process and the local RabbitMQ (shared with anything else "
        "that ran meanwhile), and every PostgreSQL process (the same caveat; backends that ended during "
        "the run are missed)."
        + (f" **The bulk did not finish within {args.timeout:g} s.**" if bulk.timed_out else "")
        + (
            f" **{bulk.poll_errors} progress reads failed during the bulk** (the broker or the database "
            "was restarted by something else meanwhile): its time is not a fair one."
            if bulk.poll_errors
            else ""
        )
    )
    targets = [
        common.target(
            f"end-to-end emails/s at least {TARGET}x raw aiosmtplib's into the same sink "
            f"({end_to_end:.0f} against {floor:.0f}/s, the faster raw run)",
            ratio,
            TARGET,
            at_most=False,
        ),
        common.target("lost emails", counts["lost"], 0, at_most=True, unit=""),
        common.target("duplicated emails", counts["duplicated"], 0, at_most=True, unit=""),
    ]
    results.data["targets"] = targets
    results.text(common.targets_markdown(targets))
    line = bulk.timeline
    results.plot_timeline(
        "progress",
        {
            "contacts processed (job progress)": (
                [0.0] + [p["t"] for p in line],
                [0] + [p["processed"] for p in line],
            ),
            "emails in the sink": cumulative(arrivals),
            "delivered, as staff see it (job progress)": (
                [0.0] + [p["t"] for p in line],
                [0] + [p["delivered"] for p in line],
            ),
            f"raw aiosmtplib ({floor_tag.removeprefix('raw_')} the bulk), for scale": cumulative(
                raw_done[floor_tag]
            ),
        },
        "seconds from the first request",
        "contacts / emails",
        f"Bulk invitation of {n} contacts: what staff see while it runs",
    )
    labels = [*BACKLOG_QUEUES, *BACKLOG_SQL]
    peaks = {label: max([p.get(label, 0) for p in line] or [0]) for label in labels}
    results.data["backlog_peaks"] = peaks
    results.table(
        "Where the work waited (the largest backlog each stage had while the bulk ran)",
        ["stage", "peak", "at s"],
        [
            [label, peaks[label], next((p["t"] for p in line if p.get(label, 0) == peaks[label]), "")]
            for label in labels
        ],
    )
    results.plot_timeline(
        "backlog",
        {label: ([p["t"] for p in line], [p.get(label, 0) for p in line]) for label in labels},
        "seconds from the first request",
        "waiting",
        "Backlog of each stage (event queues: RabbitMQ's figures, refreshed every 5 s)",
    )
    results.plot_bars(
        "rate",
        ["bulk end to end", "bulk sending window", "raw before", "raw after"],
        {"emails/s": [end_to_end, window, raw_rates["raw_before"], raw_rates["raw_after"]]},
        "emails per second",
        f"Emails per second into the SMTP sink ({conc} connections)",
    )


if __name__ == "__main__":
    sys.exit(main())
