"""`python -m bench.portal_page` (`make bench-page`): a portal page that needs three services.

GET /portal, signed in as tenants who accepted their invitations, through the gateway: the gateway
checks the session (invitations) and asks contacts (get_contact, get_organization) and properties
(get_contact_links), and renders the page. The gateway runs with SERVER_TIMING=true, so every
answer says how long each RPC it made took: the slowest of them, request by request, is "the
slowest single RPC it makes".

Target: the page's p50 within 2x of that slowest RPC's p50, at each concurrency (the services are
asked concurrently, not one after another). Beside it, at the same concurrency and in alternating
rounds, each of those RPCs alone through an RpcClient (for information: at 10 and 50 in flight
the machine's two cores are saturated, and a page costs the CPU of all its calls, not just one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from functools import partial
from typing import Any

from bench.common.cli import argument_parser
from bench.common.cpu import CpuMeter, broker_pid
from bench.common.machine import command_line
from bench.common.platform import bench_platform
from bench.common.results import Results
from bench.common.stats import Rounds, percentile, ratio, round_orders
from bench.common.targets import target, targets_markdown
from bench.common.workers import Worker
from devtools.prepare import REPO
from shared.contracts import contacts as c
from shared.contracts import invitations as i
from shared.contracts import properties as p
from shared.contracts.common import RpcMethod
from shared.rpc_client import RpcClient

PAGE = "GET /portal"
TARGET = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser("bench.portal_page", __doc__, "portal_page", rounds=5)
    parser.add_argument(
        "--requests", type=int, default=1500, help="requests (or calls) per contender and load (default 1500)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 10, 50],
        help="requests in flight, one load each (default 1 10 50)",
    )
    parser.add_argument("--tenants", type=int, default=5, help="signed-in tenants taking turns (default 5)")
    return parser.parse_args(argv)


def per_user(method: RpcMethod[Any, Any], requests: list[Any]) -> dict[str, Any]:
    """The command that makes user k call `method` with requests[k % len], as RpcClient.call sends it."""
    kwargs = [{"payload": r.model_dump(mode="json", exclude_unset=True)} for r in requests]
    return {"service": method.service, "method": method.name, "kwargs": kwargs[0], "kwargs_by_user": kwargs}


async def check_page_rpcs(amqp_uri: str, sessions: list[str]) -> None:
    """The RPCs the benchmark times alone answer (a wrong payload would time an error)."""
    client = RpcClient(amqp_uri, timeout=10, name="bench-check")
    await client.start()
    try:
        for session_id in sessions:
            await client.call(i.CHECK_SESSION, i.SessionRef(session_id=session_id))
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Results(args.name, command_line(), title="Portal page (three services)")
    results.data["settings"] = vars(args)
    measured: dict[int, Rounds] = {}
    try:
        with (
            bench_platform(args.name, env={"SERVER_TIMING": "true"}) as platform,
            contextlib.ExitStack() as workers,
        ):
            staff = platform.new_organization()
            print(f"  inviting and signing in {args.tenants} tenants ...", flush=True)
            tenants = [staff.tenant_with_lease() for _ in range(args.tenants)]
            for tenant in tenants:
                staff.invite(tenant["id"])
            sessions = [platform.accept(platform.invitation_token(t["email"])) for t in tenants]
            asyncio.run(check_page_rpcs(platform.config.uri_of("gateway"), sessions))
            org = staff.organization_id
            env = {"AMQP_URI": platform.config.uri_of("gateway")}  # it calls invitations as the gateway
            log_dir = platform.log_dir
            http = workers.enter_context(
                Worker("http", ["-m", "bench.rpc_worker", "http"], env=env, log_dir=log_dir)
            )
            rpc = workers.enter_context(
                Worker("rpc-client", ["-m", "bench.rpc_worker", "rpc-client"], env=env, log_dir=log_dir)
            )
            page = {
                "host": platform.config.host,
                "port": platform.config.gateway_port,
                "path": "/portal",
                "headers_by_user": [{"Cookie": platform.portal_cookies(s)} for s in sessions],
            }
            contenders: dict[str, tuple[Worker, dict[str, Any]]] = {
                PAGE: (http, page),
                "invitations.check_session": (
                    rpc,
                    per_user(i.CHECK_SESSION, [i.SessionRef(session_id=s) for s in sessions]),
                ),
                "contacts.get_contact": (
                    rpc,
                    per_user(
                        c.GET_CONTACT,
                        [c.GetContact(organization_id=org, contact_id=t["id"]) for t in tenants],
                    ),
                ),
                "contacts.get_organization": (
                    rpc,
                    per_user(c.GET_ORGANIZATION, [c.GetOrganization(organization_id=org)]),
                ),
                "properties.get_contact_links": (
                    rpc,
                    per_user(
                        p.GET_CONTACT_LINKS,
                        [p.GetContactLinks(organization_id=org, contact_id=t["id"]) for t in tenants],
                    ),
                ),
            }
            meter = CpuMeter(
                {
                    **{
                        name: platform.pid(name)
                        for name in ("gateway", "invitations", "contacts", "properties")
                    },
                    "broker": broker_pid(),
                }
            )
            for concurrency in args.concurrency:
                rounds = Rounds()
                per_round = max(1, args.requests // args.rounds)
                for order in round_orders(contenders, args.rounds):
                    for name, (worker, command) in order.items:
                        n = max(concurrency, per_round // 2) if order.warmup else per_round
                        answer = meter.measure(partial(worker.run, n, concurrency, **command))
                        rounds.add(name, answer, warmup=order.warmup)
                    print(f"  concurrency {concurrency}: round {order.number} done", flush=True)
                measured[concurrency] = rounds
    except KeyboardInterrupt:
        print("Stopped; nothing written.", file=sys.stderr)
        return 130
    report(results, args, measured)
    for path in results.write(doc=True):
        print(f"wrote {path.relative_to(REPO)}")
    print(results.markdown())
    return 0


def report(results: Results, args: argparse.Namespace, measured: dict[int, Rounds]) -> None:
    rows = []
    targets = []
    informational: list[str] = []
    data: dict[str, Any] = {}
    for concurrency, rounds in measured.items():
        summaries = {name: rounds.summary(name) for name in rounds.names()}
        rpcs = {name: s for name, s in summaries.items() if name != PAGE}
        slowest_alone = max(rpcs, key=lambda name: rpcs[name]["p50_ms"])
        page = summaries[PAGE]
        # The page's own RPCs, request by request (Server-Timing), round by round.
        inside = [answer["rpc_ms"] for answer in rounds.answers[PAGE]]
        by_rpc = {name: [calls[name] for r in inside for calls in r if name in calls] for name in rpcs}
        slowest_inside = [[max(calls.values()) for calls in r if calls] for r in inside]
        pooled_slowest = percentile([ms for r in slowest_inside for ms in r], 50)
        by_round = [
            round(ratio(percentile(a["latencies"], 50) * 1000, percentile(r, 50)), 3)
            for a, r in zip(rounds.answers[PAGE], slowest_inside, strict=True)
        ]
        median = percentile(by_round, 50)
        pooled = ratio(page["p50_ms"], pooled_slowest)
        data[str(concurrency)] = {
            "summaries": summaries,
            "page_rpc_p50_ms": {name: percentile(v, 50) if v else None for name, v in by_rpc.items()},
            "page_slowest_rpc_p50_ms": pooled_slowest,
            "page_vs_its_slowest_rpc_by_round": by_round,
            "slowest_rpc_alone": slowest_alone,
        }
        rows.append(
            [
                concurrency,
                PAGE,
                page["p50_ms"],
                page["p95_ms"],
                page["p99_ms"],
                page["per_second"],
                f"{ratio(page['p50_ms'], pooled_slowest):.2f}x",
                round(page.get("server_cpu_us_per_call", {}).get("gateway", 0) / 1000, 2),
                page["errors"],
            ]
        )
        rows.append(
            [
                concurrency,
                "its slowest RPC, in the page",
                round(pooled_slowest, 2),
                "",
                "",
                "",
                "1.00x",
                "",
                "",
            ]
        )
        for name, values in by_rpc.items():
            if values:
                rows.append(
                    [
                        concurrency,
                        f"{name}, in the page",
                        round(percentile(values, 50), 2),
                        round(percentile(values, 95), 2),
                        round(percentile(values, 99), 2),
                        "",
                        "",
                        "",
                        "",
                    ]
                )
        for name, s in rpcs.items():
            rows.append(
                [
                    concurrency,
                    f"{name} alone",
                    s["p50_ms"],
                    s["p95_ms"],
                    s["p99_ms"],
                    s["per_second"],
                    "",
                    "",
                    s["errors"],
                ]
            )
        targets.append(
            target(
                f"concurrency {concurrency}: page p50 within {TARGET}x of the p50 of the slowest RPC "
                f"it makes (median of the rounds' ratios {by_round}; pooled: {pooled:.2f}x)",
                median,
                TARGET,
                at_most=True,
            )
        )
        alone = ratio(page["p50_ms"], rpcs[slowest_alone]["p50_ms"])
        informational.append(
            f"- concurrency {concurrency}: page p50 {alone:.2f}x the p50 of {slowest_alone} called alone "
            "at the same concurrency"
        )
    results.data["loads"] = data
    results.data["targets"] = targets
    results.table(
        f"GET /portal, the RPCs it made, and each RPC alone ({args.requests} per contender and "
        f"concurrency, {args.rounds} rounds, {args.tenants} tenants taking turns)",
        [
            "concurrency",
            "contender",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "per s",
            "page p50 vs its slowest RPC",
            "gateway CPU ms/request",
            "errors",
        ],
        rows,
    )
    results.text(
        '"In the page": the gateway\'s own timing of each RPC it made for the page (Server-Timing), '
        'and per request the slowest of them. "Alone": that RPC sent by the benchmark\'s own '
        "RpcClient process, the same number of calls at the same concurrency, in alternating rounds."
    )
    results.text(targets_markdown(targets))
    results.text("For information, against each RPC called alone:\n\n" + "\n".join(informational))
    loads = [str(n) for n in measured]
    names = list(next(iter(measured.values())).names())
    results.plot_bars(
        "latency",
        [f"concurrency {n}" for n in loads],
        {
            **{name: [data[n]["summaries"][name]["p50_ms"] for n in loads] for name in names},
            "slowest RPC in the page": [data[n]["page_slowest_rpc_p50_ms"] for n in loads],
        },
        "p50 latency (ms)",
        "GET /portal, the slowest RPC it made, and each RPC alone (p50)",
    )
    results.plot_bars(
        "throughput",
        [f"concurrency {n}" for n in loads],
        {PAGE: [data[n]["summaries"][PAGE]["per_second"] for n in loads]},
        "requests/s",
        "GET /portal requests per second",
    )
    for n, rounds in measured.items():
        results.plot_latency_cdf(
            f"cdf-{n}", {name: rounds.latencies(name) for name in rounds.names()}, f"Latency, concurrency {n}"
        )


if __name__ == "__main__":
    sys.exit(main())
