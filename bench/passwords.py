"""`python -m bench.passwords` (`make bench-passwords`): what a password hash costs, and its share
of accepting an invitation.

Two contenders in alternating rounds, after a warm-up:

- hashing: `shared.passwords.Passwords().hash` with the real argon2id parameters (m=19 MiB, t=2,
  p=1), in this process (the invitations service runs the same C call in a native thread);
- accepting: POST /invite/accept through the gateway, each with a fresh invitation (made through
  the staff API and read from the SMTP sink beforehand), one at a time, as its recipient would: the
  invitation page is opened first (not timed) for its CSRF token, then the form is posted (timed,
  until the 303 that signs the person in).

Hashing's share of the total is hash p50 / accept p50 (and the same with means).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common.cli import argument_parser
from bench.common.machine import command_line
from bench.common.platform import PASSWORD, BenchPlatform, bench_platform
from bench.common.results import Results
from bench.common.stats import Rounds, ratio, round_orders
from devtools.prepare import REPO
from shared.passwords import ARGON2_MEMORY_KIB, ARGON2_PARALLELISM, ARGON2_TIME_COST, Passwords

HASH = "argon2id hash (Passwords.hash)"
ACCEPT = "POST /invite/accept (gateway)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser("bench.passwords", __doc__, "passwords", rounds=5)
    parser.add_argument("--hashes", type=int, default=100, help="timed hashes (default 100)")
    parser.add_argument(
        "--accepts", type=int, default=50, help="timed accepts, one invitation each (default 50)"
    )
    return parser.parse_args(argv)


def time_hashes(passwords: Passwords, count: int) -> dict[str, object]:
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        begin = time.perf_counter()
        passwords.hash(f"{PASSWORD} {n}")
        latencies.append(time.perf_counter() - begin)
    return {"latencies": latencies, "elapsed": time.perf_counter() - started, "errors": 0}


def time_accepts(platform: BenchPlatform, tokens: list[str]) -> dict[str, object]:
    latencies = []
    elapsed = 0.0
    for token in tokens:
        browser, form = platform.accept_form(token)
        try:
            begin = time.perf_counter()
            answer = browser.post("/invite/accept", data=form)
            took = time.perf_counter() - begin
        finally:
            browser.close()
        if answer.status_code != 303:
            raise RuntimeError(f"accepting answered {answer.status_code}: {answer.text[:300]}")
        latencies.append(took)
        elapsed += took
    return {"latencies": latencies, "elapsed": elapsed, "errors": 0}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Results(args.name, command_line(), title="Password hashing and accepting an invitation")
    results.data["settings"] = vars(args)
    results.data["argon2"] = {
        "type": "argon2id",
        "memory_kib": ARGON2_MEMORY_KIB,
        "time_cost": ARGON2_TIME_COST,
        "parallelism": ARGON2_PARALLELISM,
    }
    passwords = Passwords()
    hashes_per_round = max(1, args.hashes // args.rounds)
    accepts_per_round = max(1, args.accepts // args.rounds)
    warmup_accepts = max(1, accepts_per_round // 2)
    rounds = Rounds()
    try:
        with bench_platform(args.name) as platform:
            staff = platform.new_organization()
            needed = warmup_accepts + accepts_per_round * args.rounds
            print(f"  inviting {needed} tenants ...", flush=True)
            unit = staff.unit()
            tenants = [staff.tenant_with_lease(unit) for _ in range(needed)]
            for tenant in tenants:
                staff.invite(tenant["id"])
            tokens = [platform.invitation_token(tenant["email"]) for tenant in tenants]
            contenders = {HASH: "hash", ACCEPT: "accept"}
            for order in round_orders(contenders, args.rounds):
                for name, kind in order.items:
                    if kind == "hash":
                        answer = time_hashes(
                            passwords, max(2, hashes_per_round // 2) if order.warmup else hashes_per_round
                        )
                    else:
                        count = warmup_accepts if order.warmup else accepts_per_round
                        answer = time_accepts(platform, tokens[:count])
                        del tokens[:count]
                    rounds.add(name, answer, warmup=order.warmup)
                print(f"  round {order.number}{' (warm-up)' if order.warmup else ''} done", flush=True)
    except KeyboardInterrupt:
        print("Stopped; nothing written.", file=sys.stderr)
        return 130
    report(results, rounds)
    for path in results.write(doc=True):
        print(f"wrote {path.relative_to(REPO)}")
    print(results.markdown())
    return 0


def report(results: Results, rounds: Rounds) -> None:
    hashing, accepting = rounds.summary(HASH), rounds.summary(ACCEPT)
    share_p50 = ratio(hashing["p50_ms"], accepting["p50_ms"])
    share_mean = ratio(hashing["mean_ms"], accepting["mean_ms"])
    results.data["summaries"] = {HASH: hashing, ACCEPT: accepting}
    results.data["hash_share_of_accept"] = {"p50": share_p50, "mean": share_mean}
    rows = [
        [name, s["n"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["mean_ms"]]
        for name, s in ((HASH, hashing), (ACCEPT, accepting))
    ]
    rows.append(
        [
            "accept without the hash (p50 difference)",
            "",
            round(accepting["p50_ms"] - hashing["p50_ms"], 3),
            "",
            "",
            "",
        ]
    )
    argon2 = results.data["argon2"]
    results.table(
        f"argon2id m={argon2['memory_kib'] // 1024} MiB, t={argon2['time_cost']}, p={argon2['parallelism']}; "
        "accepts one at a time, each with a fresh invitation",
        ["contender", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms"],
        rows,
    )
    results.text(
        f"Hashing's share of accepting an invitation: **{share_p50:.0%}** of the p50 "
        f"({share_mean:.0%} of the mean)."
    )
    results.plot_latency_cdf(
        "latency",
        {HASH: rounds.latencies(HASH), ACCEPT: rounds.latencies(ACCEPT)},
        "Password hash and accept-invitation latency",
        log_x=False,
    )


if __name__ == "__main__":
    sys.exit(main())
