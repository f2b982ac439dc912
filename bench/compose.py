"""`python -m bench.compose` (`make bench-compose`): what one invitation email costs the sender to
compose, in this process (no services).

Three contenders in alternating rounds, after a warm-up, on the same rendered invitation:

- render: `Templates.render` (subject, text and HTML from the Jinja templates);
- build_message: `notifications.rendering.build_message`, the MIME bytes written out directly, as
  the sender sends them;
- EmailMessage (before): the same email through the standard library's `EmailMessage`
  (`set_content`, `add_alternative`, `as_bytes`), as the sender built it until the bulk
  benchmark showed this was most of its CPU per email. Kept here as the reference.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from bench.common.cli import argument_parser
from bench.common.machine import command_line
from bench.common.results import Results
from bench.common.stats import Rounds, ratio, round_orders
from devtools.prepare import REPO
from notifications import domain
from notifications.rendering import RenderedEmail, Templates, build_message, template_values

RENDER = "render (Templates.render)"
BUILD = "build_message (bytes written out)"
STDLIB = "EmailMessage + as_bytes (before)"
MAIL_FROM = "Acme Lettings <no-reply@portal.example.com>"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser("bench.compose", __doc__, "compose", rounds=5)
    parser.add_argument("--emails", type=int, default=5000, help="emails per contender (default 5000)")
    return parser.parse_args(argv)


def stdlib_message(email: RenderedEmail, delivery_id: uuid.UUID, now: datetime) -> bytes:
    """The sender's email as it was built before (commit 0d45337's `build_message`)."""
    message = EmailMessage()
    message["From"] = MAIL_FROM
    message["To"] = Address(display_name="Tess Tenant", addr_spec="tess@example.com")
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = domain.message_id(delivery_id, "portal.example.com")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message.as_bytes()


def timed(count: int, make: object) -> dict[str, object]:
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        begin = time.perf_counter()
        make()  # type: ignore[operator]
        latencies.append(time.perf_counter() - begin)
    return {"latencies": latencies, "elapsed": time.perf_counter() - started, "errors": 0}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = Results(args.name, command_line(), title="Composing an invitation email")
    results.data["settings"] = vars(args)
    templates = Templates()
    now = datetime.now(UTC)
    context = {
        "recipient_name": "Tess Tenant",
        "organization_name": "Acme Lettings",
        "expires_at": (now + timedelta(days=7)).isoformat(),
        "valid_minutes": 10080,
        "is_resend": False,
    }
    values = template_values(context, "https://portal.example.com/invite/" + "x" * 43)
    email = templates.render("invitation", "en-GB", values)
    contenders = {
        RENDER: lambda: templates.render("invitation", "en-GB", values),
        BUILD: lambda: build_message(
            delivery_id=uuid.uuid4(),
            recipient="tess@example.com",
            recipient_name="Tess Tenant",
            email=email,
            mail_from=MAIL_FROM,
            mail_domain="portal.example.com",
            now=now,
        ),
        STDLIB: lambda: stdlib_message(email, uuid.uuid4(), now),
    }
    per_round = max(1, args.emails // args.rounds)
    rounds = Rounds()
    for order in round_orders(contenders, args.rounds):
        for name, make in order.items:
            rounds.add(
                name, timed(max(1, per_round // 5) if order.warmup else per_round, make), warmup=order.warmup
            )
    report(results, rounds)
    for path in results.write(doc=True):
        print(f"wrote {path.relative_to(REPO)}")
    print(results.markdown())
    return 0


def report(results: Results, rounds: Rounds) -> None:
    summaries = {name: rounds.summary(name) for name in (RENDER, BUILD, STDLIB)}
    results.data["summaries"] = summaries
    results.table(
        "One invitation email, in this process (µs)",
        ["contender", "n", "p50 µs", "p99 µs", "mean µs"],
        [
            [name, s["n"], round(s["p50_ms"] * 1000), round(s["p99_ms"] * 1000), round(s["mean_ms"] * 1000)]
            for name, s in summaries.items()
        ],
    )
    faster = ratio(summaries[STDLIB]["mean_ms"], summaries[BUILD]["mean_ms"])
    results.text(
        f"Building the bytes directly takes {faster:.0f}x less time than through `EmailMessage` (means)."
    )
    results.plot_latency_cdf(
        "latency", {name: rounds.latencies(name) for name in summaries}, "Composing one invitation email"
    )


if __name__ == "__main__":
    sys.exit(main())
