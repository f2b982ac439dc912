"""What `bench.sender_scaling` writes: its table, targets and plots, from the rounds."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bench.common.results import Results, pyplot
from bench.common.stats import Rounds, paired_ratio, percentile, ratio
from bench.common.targets import target, targets_markdown
from bench.sender_scaling_processes import label

TARGETS = {2: 1.8, 4: 3.4}


def report(results: Results, args: argparse.Namespace, rounds: Rounds, connections: int) -> None:
    base = label(args.processes[0])
    base_rate = rounds.summary(base)["per_second"]
    pace = 1000 / args.delay_ms  # emails a second one SMTP connection can send at the sink's pace
    rows = []
    data: dict[str, Any] = {}
    for name in sorted(rounds.names(), key=lambda n: rounds.answers[n][0]["processes"]):
        s = rounds.summary(name)
        answers = rounds.answers[name]
        processes = answers[0]["processes"]
        paired = paired_ratio(rounds, name, [base])
        cpu = s.get("server_cpu_us_per_call", {})
        lost = sum(a["lost"] for a in answers)
        duplicates = sum(a["duplicates"] for a in answers)
        retried = sum(a["retried"] for a in answers)
        data[name] = {
            "processes": processes,
            "summary": s,
            "vs_baseline_by_round": paired,
            "lost": lost,
            "duplicates": duplicates,
            "retried": retried,
            "statuses_by_round": [a["statuses"] for a in answers],
            "machine_busy_by_round": [round(a["machine_busy"], 3) for a in answers],
        }
        busy = percentile([a["machine_busy"] for a in answers], 50)
        ours = sum(cpu.get(p, 0.0) for p in ("senders", "notifications", "sink", "database"))
        ours_share = ours * s["per_second"] / 1e6 / (os.cpu_count() or 1)

        def cores(process: str, s: dict[str, Any] = s, cpu: dict[str, float] = cpu) -> float:
            return round(cpu.get(process, 0.0) * s["per_second"] / 1e6, 2)

        rows.append(
            [
                processes,
                processes * connections,
                s["per_second"],
                ", ".join(f"{v:.0f}" for v in s["per_second_by_round"]),
                f"{paired['median']:.2f}x",
                f"{ratio(s['per_second'], base_rate * processes / args.processes[0]):.0%}",
                round(processes * connections * pace),
                f"{cpu.get('senders', 0) / 1000:.2f} ({cores('senders'):.2f})",
                f"{cpu.get('notifications', 0) / 1000:.2f}",
                f"{cpu.get('sink', 0) / 1000:.2f}",
                f"{cpu.get('database', 0) / 1000:.2f} ({cores('database'):.2f})",
                f"{cpu.get('broker', 0) / 1000:.2f}",
                f"{busy:.0%} ({ours_share:.0%})",
                lost,
                duplicates,
                retried,
            ]
        )
    results.data["contenders"] = data
    results.table(
        f"{args.messages} due deliveries a round, {args.rounds} rounds after a warm-up; the sink takes "
        f"{args.delay_ms} ms per email; {connections} SMTP connections per sender process",
        [
            "processes",
            "connections",
            "emails/s",
            "emails/s by round",
            "vs 1 process (median of rounds)",
            "of linear",
            "sink's ceiling emails/s",
            "senders CPU ms/email (cores)",
            "notifications CPU ms/email",
            "sink CPU ms/email",
            "database CPU ms/email (cores)",
            "broker CPU ms/email",
            "machine busy (this run's processes)",
            "lost",
            "duplicates",
            "retried",
        ],
        rows,
    )
    results.text(
        "emails/s: the round's emails over the time from the start (every sender up, waiting on the "
        "lock) to the last email's arrival at the sink, pooled over the rounds. Linear is the one-process "
        "rate times the processes; the sink's ceiling is every connection sending back to back at its "
        "pace (no time for anything else). CPU per email: the sender processes together (in brackets, "
        "the cores they kept busy), the notifications service, the sink, this database's backends, and "
        "the local RabbitMQ (shared with anything else that ran meanwhile). Machine busy: the share of both "
        "cores' time that was busy during the timed part (median of the rounds; /proc/stat), and in brackets "
        "the share the senders, the notifications service, the sink and the database backends used. Lost: "
        "recipients the sink never received; duplicates: emails beyond the first to a recipient; "
        "retried: deliveries that needed more than one attempt."
    )
    targets = []
    for processes, limit in TARGETS.items():
        name = label(processes)
        if name in data and name != base:
            paired = data[name]["vs_baseline_by_round"]
            targets.append(
                target(
                    f"{name} send at least {limit}x what {base} does (median of the rounds' ratios "
                    f"{paired['by_round']})",
                    paired["median"],
                    limit,
                    at_most=False,
                )
            )
    total_lost = sum(d["lost"] for d in data.values())
    total_duplicates = sum(d["duplicates"] for d in data.values())
    targets.append(target("no email lost, over every round", total_lost, 0, at_most=True, unit=""))
    targets.append(
        target("no email sent twice, over every round", total_duplicates, 0, at_most=True, unit="")
    )
    results.data["targets"] = targets
    results.text(targets_markdown(targets))
    again = [why for name in rounds.names() for a in rounds.answers[name] for why in a["abandoned_attempts"]]
    if again:
        results.text(
            f"{len(again)} round(s) were run again with a new backlog after PostgreSQL or RabbitMQ went "
            f"away meanwhile (other tests restart them on this machine): {'; '.join(again)}."
        )
    plot_throughput(results, data, base_rate, connections * pace)
    last_rounds = {name: rounds.answers[name][-1]["latencies"] for name in data}
    results.plot_timeline(
        "timeline",
        {name: (offsets, list(range(1, len(offsets) + 1))) for name, offsets in last_rounds.items()},
        "seconds from the start",
        "emails at the sink",
        "Emails delivered over time (the last round of each)",
    )


def plot_throughput(
    results: Results, data: dict[str, Any], base_rate: float, ceiling_per_process: float
) -> None:
    """Emails/s against sender processes: each round, the pooled rate, linear scaling from one
    process, and the sink's ceiling."""
    plt = pyplot()
    counts = [d["processes"] for d in data.values()]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = range(0, max(counts) + 1)
    ax.plot(xs, [base_rate * x for x in xs], "--", color="grey", label="linear (1 process x n)")
    ax.plot(xs, [ceiling_per_process * x for x in xs], ":", color="grey", label="sink's ceiling")
    for d in data.values():
        by_round = d["summary"]["per_second_by_round"]
        ax.scatter([d["processes"]] * len(by_round), by_round, color="tab:blue", alpha=0.35, s=18)
    pooled = [d["summary"]["per_second"] for d in data.values()]
    ax.plot(counts, pooled, "o-", color="tab:blue", label="measured (pooled; dots: rounds)")
    ax.set_xticks(counts)
    ax.set_xlim(0, max(counts) + 0.5)
    ax.set_ylim(0, None)
    ax.set_xlabel("sender processes")
    ax.set_ylabel("emails/s")
    ax.set_title("SMTP sender throughput against processes")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    results.keep_plot("throughput", fig)
