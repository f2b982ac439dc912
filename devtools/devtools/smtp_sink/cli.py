"""The command line: `python -m devtools.smtp_sink` (and `portal-smtp-sink`), in the foreground
until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from devtools.smtp_sink.server import SinkStartError, SmtpSink
from devtools.smtp_sink.state import DEFAULT_MAX_MESSAGES


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535; 0 picks a free one)")
    return port


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.smtp_sink",
        description="An SMTP server that keeps every email in memory and shows it on a local web page.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--smtp-port", type=_port, default=1025, help="SMTP port (default: 1025)")
    parser.add_argument("--http-port", type=_port, default=8025, help="web page and API port (default: 8025)")
    parser.add_argument(
        "--max-messages",
        type=_positive,
        default=DEFAULT_MAX_MESSAGES,
        help=f"emails kept; the oldest is dropped first (default: {DEFAULT_MAX_MESSAGES})",
    )
    return parser.parse_args(argv)


def _configure_cli_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s smtp-sink %(name)s: %(message)s",
    )
    # aiosmtpd logs every command of every connection at INFO; uvicorn repeats our startup line.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


async def _serve_until_signalled(sink: SmtpSink) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await sink.serve(stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _configure_cli_logging()
    sink = SmtpSink(args.host, args.smtp_port, args.http_port, args.max_messages)
    try:
        sink.bind()
    except SinkStartError as exc:
        print(f"smtp-sink: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve_until_signalled(sink))
    return 0
