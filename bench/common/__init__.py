"""What every benchmark needs, one module a part:

    platform.py   a platform of its own (`bench_platform`, `BenchPlatform`, `StaffApi`)
    workers.py    contenders in processes of their own (`Worker`; its side is `bench.worker`)
    stats.py      alternating rounds (`round_orders`, `Rounds`), percentiles, paired ratios
    cpu.py        CPU per call (`CpuMeter`, `process_cpu_seconds`, `broker_pid`)
    targets.py    targets and whether a run met them
    results.py    results written as JSON, a Markdown table and PNG plots (and into docs/performance.md)
    machine.py    where the run happened (`command_line`, `machine`)
    processes.py  how processes start (`python_module`; under py-spy with BENCH_PROFILE: `profiled`)
    cli.py        what every command line has (`argument_parser`)
    paths.py      where results, the doc and logs go

A benchmark is one command (`python -m bench.<name>`) that starts what it needs, measures its
contenders side by side in one run, writes `bench/results/<name>.json`, `<name>.md` and
`<name>-<plot>.png`, and removes everything it made, also on Ctrl-C, SIGTERM or failure. Speed is
measured here, never asserted in a test. The shape of one (bench/rpc.py and bench/portal_page.py
are complete examples):

    from functools import partial
    from bench.common.cpu import CpuMeter, broker_pid
    from bench.common.machine import command_line
    from bench.common.platform import bench_platform
    from bench.common.processes import python_module
    from bench.common.results import Results
    from bench.common.stats import Rounds, round_orders
    from bench.common.targets import target, targets_markdown
    from bench.common.workers import Worker
    from devtools.stack import ProcessSpec

    with bench_platform(
        "bulk",
        processes=None,                                   # all of platform_processes
        extra=[ProcessSpec("sender-2", python_module("notifications.sender"))],
        env={"MAX_WORKERS": "20"},                        # every process
        process_env={"sender-2": {"SENDER_CONCURRENCY": "8"}},  # one process
    ) as platform:
        staff = platform.new_organization()              # staff API client with an API token
        tenant = staff.tenant_with_lease()               # eligible for an invitation
        staff.invite(tenant["id"])
        token = platform.invitation_token(tenant["email"])   # read from the SMTP sink
        env = {"AMQP_URI": platform.amqp_uri}
        with Worker("http", ["-m", "bench.rpc_worker", "http"], env=env,
                    log_dir=platform.log_dir) as http:
            contenders = {"page": (http, {"host": platform.config.host,
                                          "port": platform.config.gateway_port, "path": "/healthz"})}
            meter = CpuMeter({"gateway": platform.pid("gateway"), "broker": broker_pid()})
            rounds = Rounds()
            for order in round_orders(contenders, rounds=5):      # warm-up round first
                for name, (worker, command) in order.items:
                    answer = meter.measure(partial(worker.run, 500, 10, **command))
                    rounds.add(name, answer, warmup=order.warmup)
    results = Results("bulk", command_line(), title="Bulk invitations")
    s = rounds.summary("page")     # n, p50/p95/p99/mean/max ms, per_second, CPU us per call, per round
    results.table("Requests", ["contender", "p50 ms", "per s"], [["page", s["p50_ms"], s["per_second"]]])
    results.text(targets_markdown([target("p50 under 50 ms", s["p50_ms"], 50, at_most=True, unit=" ms")]))
    results.plot_latency_cdf("latency", {"page": rounds.latencies("page")}, "Latency")
    results.write(doc=True)   # bench/results/bulk.*, and docs/performance.md between
                              # <!-- results:bulk --> and <!-- /results:bulk -->

`bench_platform` makes a database and a RabbitMQ vhost of its own (`bench_<name>_<random>`) and
free ports, migrates every service schema, declares the queues, starts the chosen processes of
`devtools.stack.platform_processes` (all by default) plus any `extra` ProcessSpec (a second sender,
a benchmark-only service), and waits until each started nameko service consumes its RPC queue
(`rpc_services` for extra ones) and each web process answers (`http_checks` for extra ones). On
the way out it stops the processes, drops the database and deletes the vhost. Process logs go to
`var/bench-logs/<name>/` (not committed).

A contender runs in a `Worker`: a process of its own that keeps its connections between rounds and
answers JSON commands; `bench.worker` is its side (standard library only, so an eventlet worker can
patch first) and `bench.rpc_worker` has ready ones (the RpcClient, nameko's proxy, a bare aio-pika
client, an HTTP load generator). Rounds alternate between contenders after a warm-up round, the
first one rotating, so each sees the same background on a noisy two-core machine and a ratio
between them holds. CPU per call (the worker's own, and `CpuMeter`'s for server processes) is
reported beside latency: it moves much less than latency when something else runs.

BENCH_PROFILE=<process or worker-<name>>,... runs those under py-spy (see `bench.common.processes`).
"""
