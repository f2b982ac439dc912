"""The timed part of `bench.bulk`: one bulk invitation through the staff API, polled until the
sink holds every email and staff see every one delivered, with where the work waited meanwhile."""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bench.common.cli import say
from bench.common.cpu import CpuMeter, postgres_cpu_seconds, process_cpu_seconds
from bench.common.platform import BenchPlatform, StaffApi
from shared.topology import Subscription

POSTGRES = "postgres (all processes)"


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
    platform: BenchPlatform,
    staff: StaffApi,
    contact_ids: list[str],
    args: argparse.Namespace,
    meter: CpuMeter,
) -> BulkRun:
    sink = platform.sink
    db = create_engine(platform.database_url, pool_size=1)
    baseline = sink.stats()["accepted"]
    total = len(contact_ids)
    run = BulkRun(started_wall=datetime.now(UTC))
    cpu_start = {name: process_cpu_seconds(pid) for name, pid in meter.pids.items()}
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
        name: round(process_cpu_seconds(pid) - cpu_start[name], 2)
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


def backlog(platform: BenchPlatform, db: Engine) -> dict[str, int]:
    queues = {str(q.get("name")): q for q in platform.management.queues(platform.vhost)}
    found = {
        label: int(queues.get(name, {}).get("messages") or 0)  # type: ignore[call-overload]
        for label, name in BACKLOG_QUEUES.items()
    }
    with db.connect() as conn:
        for label, sql in BACKLOG_SQL.items():
            found[label] = int(conn.execute(text(sql)).scalar() or 0)
    return found
