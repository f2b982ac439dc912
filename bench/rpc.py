"""`python -m bench.rpc` (`make bench-rpc`): what one RPC round trip costs, and what the gateway adds.

Part 1, RPC: the same trivial nameko method (`bench.echo_service`, `echo(payload)`), called one at
a time and with `--concurrency` in flight, by

- the gateway's client: `shared.rpc_client.RpcClient`, one per process, `call_raw` with a timeout;
- nameko's `ServiceRpcProxy`, one proxy per user (it blocks and must not be shared), the users
  being OS threads in one contender and eventlet green threads in another;
- a bare aio-pika request/reply (publish to `nameko-rpc`, a reply queue, a correlation id): the
  floor any asyncio client stands on.

Part 2, HTTP: `GET /api/v1/me` on the gateway (one RPC, `contacts.authenticate_api_token`) against a
FastAPI route returning a constant (`bench.constant_app`, served by uvicorn with the gateway's
options, in its own process), driven by the same load generator (`bench.loadgen`); and that one RPC
alone through the RpcClient. /me minus constant minus the RPC is what the gateway itself costs.

Every contender runs in its own process; rounds alternate between them after a warm-up round.
Targets: the RpcClient's p50 within 1.15x of the floor's, and at least 1.5x the standalone proxy's
calls/s with 20 in flight.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import uuid
from functools import partial
from typing import Any

from bench.common.cli import argument_parser
from bench.common.cpu import CpuMeter, broker_pid
from bench.common.machine import command_line
from bench.common.platform import bench_platform
from bench.common.processes import python_module
from bench.common.results import Results
from bench.common.stats import Rounds, paired_ratio, ratio, round_orders
from bench.common.targets import target, targets_markdown
from bench.common.workers import Worker
from devtools.prepare import REPO
from devtools.stack import ProcessSpec, free_port

ECHO = "bench_echo"  # bench.echo_service.SERVICE (importing it would monkey-patch this process)
CLIENT = "RpcClient (gateway)"
FLOOR = "bare aio-pika (floor)"
THREADS = "ServiceRpcProxy, OS threads"
GREEN = "ServiceRpcProxy, green threads"
CONSTANT = "FastAPI constant route"
ME = "gateway GET /api/v1/me"
AUTH_RPC = "RpcClient authenticate_api_token"

P50_TARGET = 1.15
THROUGHPUT_TARGET = 1.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser("bench.rpc", __doc__, "rpc", rounds=10)
    parser.add_argument(
        "--calls", type=int, default=4000, help="RPC calls per contender and load (default 4000)"
    )
    parser.add_argument(
        "--http-calls", type=int, default=3000, help="HTTP requests per contender and load (default 3000)"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="calls in flight under load (default 20)")
    parser.add_argument(
        "--payload-bytes", type=int, default=200, help="size of the echoed text (default 200)"
    )
    parser.add_argument("--skip-http", action="store_true", help="only the RPC part")
    return parser.parse_args(argv)


def measure(
    contenders: dict[str, tuple[Worker, dict[str, Any]]],
    calls: int,
    rounds: int,
    concurrency: int,
    label: str,
    meter: CpuMeter,
) -> Rounds:
    collected = Rounds()
    per_round = max(1, calls // rounds)
    for order in round_orders(contenders, rounds):
        for name, (worker, command) in order.items:
            n = max(concurrency, per_round // 2) if order.warmup else per_round
            answer = meter.measure(partial(worker.run, n, concurrency, **command))
            collected.add(name, answer, warmup=order.warmup)
        print(f"  {label}: round {order.number}{' (warm-up)' if order.warmup else ''} done", flush=True)
    return collected


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Results(args.name, command_line(), title="RPC round trip and the gateway's cost")
    results.data["settings"] = vars(args)
    loads = {"sequential": 1, f"{args.concurrency} in flight": args.concurrency}
    constant_port = free_port()
    extra = [
        ProcessSpec("bench-echo", python_module("bench.echo_service")),
        ProcessSpec("constant-app", python_module("bench.constant_app"), env={"PORT": str(constant_port)}),
    ]
    payload = {"id": str(uuid.uuid4()), "text": "x" * args.payload_bytes}
    echo = {"service": ECHO, "method": "echo", "kwargs": {"payload": payload}}
    rpc: dict[str, Rounds] = {}
    http: dict[str, Rounds] = {}
    try:
        with (
            bench_platform(
                args.name,
                processes=["contacts", "gateway"],
                extra=extra,
                rpc_services=[ECHO],
                http_checks=[f"http://127.0.0.1:{constant_port}/constant"],
            ) as platform,
            contextlib.ExitStack() as workers,
        ):
            env = {"AMQP_URI": platform.amqp_uri}

            def worker(kind: str) -> Worker:
                return workers.enter_context(
                    Worker(kind, ["-m", "bench.rpc_worker", kind], env=env, log_dir=platform.log_dir)
                )

            contenders = {
                CLIENT: (worker("rpc-client"), echo),
                FLOOR: (worker("floor"), echo),
                THREADS: (worker("standalone-threads"), echo),
                GREEN: (worker("standalone-green"), echo),
            }
            broker = broker_pid()
            meter = CpuMeter({"echo": platform.pid("bench-echo"), "broker": broker})
            for load, concurrency in loads.items():
                rpc[load] = measure(contenders, args.calls, args.rounds, concurrency, f"RPC {load}", meter)
            if not args.skip_http:
                staff = platform.new_organization()
                host, port = platform.config.host, platform.config.gateway_port
                loadgen = worker("http")
                http_contenders: dict[str, tuple[Worker, dict[str, Any]]] = {
                    CONSTANT: (loadgen, {"host": host, "port": constant_port, "path": "/constant"}),
                    ME: (
                        loadgen,
                        {
                            "host": host,
                            "port": port,
                            "path": "/api/v1/me",
                            "headers": {"Authorization": f"Bearer {staff.api_token}"},
                        },
                    ),
                    AUTH_RPC: (
                        contenders[CLIENT][0],
                        {
                            "service": "contacts",
                            "method": "authenticate_api_token",
                            "kwargs": {"payload": {"token": staff.api_token}},
                        },
                    ),
                }
                http_meter = CpuMeter(
                    {
                        "gateway": platform.pid("gateway"),
                        "constant": platform.pid("constant-app"),
                        "contacts": platform.pid("contacts"),
                        "broker": broker,
                    }
                )
                for load, concurrency in loads.items():
                    http[load] = measure(
                        http_contenders, args.http_calls, args.rounds, concurrency, f"HTTP {load}", http_meter
                    )
    except KeyboardInterrupt:
        print("Stopped; nothing written.", file=sys.stderr)
        return 130
    report(results, args, loads, rpc, http)
    for path in results.write(doc=True):
        print(f"wrote {path.relative_to(REPO)}")
    print(results.markdown())
    return 0


def report(
    results: Results,
    args: argparse.Namespace,
    loads: dict[str, int],
    rpc: dict[str, Rounds],
    http: dict[str, Rounds],
) -> None:
    load_names = list(loads)
    sequential, loaded = load_names
    summaries = {
        load: {name: rounds.summary(name) for name in rounds.names()} for load, rounds in rpc.items()
    }
    results.data["rpc"] = summaries
    rows = []
    for load in load_names:
        floor_p50 = summaries[load][FLOOR]["p50_ms"]
        for name, s in summaries[load].items():
            server = s.get("server_cpu_us_per_call", {})
            rows.append(
                [
                    load,
                    name,
                    s["p50_ms"],
                    s["p95_ms"],
                    s["p99_ms"],
                    s["per_second"],
                    f"{ratio(s['p50_ms'], floor_p50):.2f}x",
                    s.get("client_cpu_us_per_call", ""),
                    server.get("echo", ""),
                    server.get("broker", ""),
                    s["errors"],
                ]
            )
    results.table(
        f"RPC round trip to `{ECHO}.echo` ({args.payload_bytes}-byte text, {args.calls} calls per "
        f"contender and load over {args.rounds} rounds)",
        [
            "load",
            "client",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "calls/s",
            "p50 vs floor",
            "client CPU µs/call",
            "service CPU µs/call",
            "broker CPU µs/call",
            "errors",
        ],
        rows,
    )
    results.text(
        "CPU per call: the client's own process (all its threads), the echo service's, and the local "
        "RabbitMQ's (shared with anything else that used the broker meanwhile), each divided by the calls."
    )
    # Judged round by round (see paired_ratio): the pooled figures in the table move with
    # whatever else the machine ran during one contender's rounds.
    p50_paired = paired_ratio(rpc[sequential], CLIENT, [FLOOR], "p50_ms", best=min)
    rate_paired = paired_ratio(rpc[loaded], CLIENT, [THREADS, GREEN], "per_second", best=max)
    pooled_rate = ratio(
        summaries[loaded][CLIENT]["per_second"],
        max(summaries[loaded][THREADS]["per_second"], summaries[loaded][GREEN]["per_second"]),
    )
    targets = [
        target(
            f"RpcClient p50 within {P50_TARGET}x of the floor's, one call at a time (median of the "
            f"rounds' ratios {p50_paired['by_round']})",
            p50_paired["median"],
            P50_TARGET,
            at_most=True,
        ),
        target(
            f"RpcClient calls/s at least {THROUGHPUT_TARGET}x the standalone proxy's, {loaded} (median "
            f"of the rounds' ratios against the faster of its two variants in that round "
            f"{rate_paired['by_round']})",
            rate_paired["median"],
            THROUGHPUT_TARGET,
            at_most=False,
        ),
    ]
    pooled_p50 = ratio(summaries[sequential][CLIENT]["p50_ms"], summaries[sequential][FLOOR]["p50_ms"])
    loaded_p50 = ratio(summaries[loaded][CLIENT]["p50_ms"], summaries[loaded][FLOOR]["p50_ms"])
    results.data["targets"] = targets
    results.data["pooled"] = {
        "rpc_client_p50_vs_floor_sequential": pooled_p50,
        "rpc_client_per_second_vs_best_standalone_loaded": pooled_rate,
        "rpc_client_p50_vs_floor_loaded": loaded_p50,
    }
    results.text(
        targets_markdown(targets)
        + f"\n- (for information) the same from the pooled table: p50 {pooled_p50:.2f}x the floor's, "
        f"calls/s {pooled_rate:.2f}x the faster standalone variant's; RpcClient p50 with {loaded} "
        f"{loaded_p50:.2f}x the floor's"
    )
    results.plot_latency_cdf(
        "latency",
        {name: rpc[sequential].latencies(name) for name in rpc[sequential].names()},
        f"RPC round trip, {sequential}",
    )
    results.plot_latency_cdf(
        f"latency-{loads[loaded]}",
        {name: rpc[loaded].latencies(name) for name in rpc[loaded].names()},
        f"RPC round trip, {loaded}",
    )
    names = list(summaries[sequential])
    results.plot_bars(
        "throughput",
        load_names,
        {name: [summaries[load][name]["per_second"] for load in load_names] for name in names},
        "calls/s",
        "RPC calls per second",
    )
    if not http:
        return
    http_summaries = {
        load: {name: rounds.summary(name) for name in rounds.names()} for load, rounds in http.items()
    }
    results.data["http"] = http_summaries
    rows = []
    for load in load_names:
        for name, x in http_summaries[load].items():
            server = x.get("server_cpu_us_per_call", {})
            web = server.get("constant" if name == CONSTANT else "gateway", "") if name != AUTH_RPC else ""
            rows.append(
                [
                    load,
                    name,
                    x["p50_ms"],
                    x["p95_ms"],
                    x["p99_ms"],
                    x["per_second"],
                    web,
                    server.get("contacts", ""),
                    x["errors"],
                ]
            )
    s = http_summaries[sequential]
    own = round(s[ME]["p50_ms"] - s[CONSTANT]["p50_ms"] - s[AUTH_RPC]["p50_ms"], 3)
    results.data["gateway_own_cost_p50_ms_sequential"] = own
    results.table(
        f"HTTP through uvicorn, the same load generator ({args.http_calls} requests per contender and load)",
        [
            "load",
            "route",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "requests/s",
            "web process CPU µs/request",
            "contacts CPU µs/request",
            "errors",
        ],
        rows,
    )
    results.text(
        f"What the gateway itself adds to one request, one at a time: /me p50 - constant route p50 - "
        f"the RPC's p50 = **{own:.2f} ms**."
    )
    results.plot_bars(
        "http",
        load_names,
        {
            name: [http_summaries[load][name]["p50_ms"] for load in load_names]
            for name in http_summaries[sequential]
        },
        "p50 latency (ms)",
        "The gateway's cost: /api/v1/me against a constant route and its one RPC",
    )


if __name__ == "__main__":
    sys.exit(main())
