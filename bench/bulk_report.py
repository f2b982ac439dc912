"""What `bench.bulk` writes: its tables, targets and plots, from the bulk run and the raw floor."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from typing import Any

from bench.bulk_run import BACKLOG_QUEUES, BACKLOG_SQL, BulkRun
from bench.common.results import Results
from bench.common.stats import ratio
from bench.common.targets import target, targets_markdown

TARGET = 0.5
RAW_CLIENT = "raw aiosmtplib client"


def cumulative(times: list[float], points: int = 400) -> tuple[list[float], list[float]]:
    """A running count over sorted times, thinned to about `points` steps (the last one kept)."""
    ordered = sorted(times)
    step = max(1, len(ordered) // points)
    picked = list(range(0, len(ordered), step))
    if ordered and picked[-1] != len(ordered) - 1:
        picked.append(len(ordered) - 1)
    return [0.0] + [ordered[i] for i in picked], [0.0] + [float(i + 1) for i in picked]


def report(
    results: Results,
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
    vs_floor = ratio(end_to_end, floor)
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
            "ratio_end_to_end_vs_raw": vs_floor,
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
                f"{vs_floor:.2f}x",
            ],
            [
                "bulk, sending window only (first to last email in the sink)",
                invited,
                round(last_s - first_s, 2),
                window,
                f"{ratio(window, floor):.2f}x",
            ],
            *[
                [
                    f"raw aiosmtplib `sendmail`, {tag.removeprefix('raw_')} the bulk"
                    + (" (floor)" if tag == floor_tag else ""),
                    measured[tag]["emails"],
                    measured[tag]["seconds"],
                    measured[tag]["per_second"],
                    f"{ratio(measured[tag]['per_second'], floor):.2f}x",
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
        target(
            f"end-to-end emails/s at least {TARGET}x raw aiosmtplib's into the same sink "
            f"({end_to_end:.0f} against {floor:.0f}/s, the faster raw run)",
            vs_floor,
            TARGET,
            at_most=False,
        ),
        target("lost emails", counts["lost"], 0, at_most=True, unit=""),
        target("duplicated emails", counts["duplicated"], 0, at_most=True, unit=""),
    ]
    results.data["targets"] = targets
    results.text(targets_markdown(targets))
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
