"""`SmtpSink`: the SMTP side and the web page on one asyncio loop, in the foreground (the command
line) or in a background thread (tests)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from devtools.sink_client import SinkClient
from devtools.smtp_sink.smtp import keep_message_content_out_of_logs, smtp_protocols
from devtools.smtp_sink.state import DEFAULT_MAX_MESSAGES, MessageStore, SinkState
from devtools.smtp_sink.web import create_app

log = logging.getLogger("devtools.smtp_sink")


class SinkStartError(Exception):
    """A port cannot be listened on; the message says what to do."""


class _EmbeddedUvicorn(uvicorn.Server):
    # uvicorn installs its own SIGINT/SIGTERM handlers and re-raises the signal after shutdown;
    # the sink owns the process's signals and stops uvicorn itself.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int, flag: str) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise SinkStartError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SinkStartError(f"port {port} is in use: another SMTP sink running? use {flag}") from None
        raise SinkStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{host}]" if address.version == 6 else host


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SmtpSink:
    """An SMTP server that keeps every email, with a web page and a JSON API over them.

    Port 0 picks a free port; the chosen ones are in `smtp_port` and `http_port` once bound.
    In a test: `with SmtpSink() as sink: client = sink.client()` (a background thread with its
    own event loop); in an asyncio program: `sink.bind()` then `await sink.serve(stop_event)`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        smtp_port: int = 0,
        http_port: int = 0,
        max_messages: int = DEFAULT_MAX_MESSAGES,
    ) -> None:
        self.host = host
        self.state = SinkState(store=MessageStore(max_messages))
        self._requested_ports = (smtp_port, http_port)
        self._smtp_sock: socket.socket | None = None
        self._http_sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread_error: BaseException | None = None

    # -- addresses

    @property
    def smtp_port(self) -> int:
        return self._bound(self._smtp_sock)[1]

    @property
    def http_port(self) -> int:
        return self._bound(self._http_sock)[1]

    @property
    def smtp_address(self) -> str:
        return f"{_url_host(self.host)}:{self.smtp_port}"

    @property
    def base_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.http_port}"

    def client(self, timeout: float = 10.0) -> SinkClient:
        return SinkClient(self.base_url, timeout=timeout)

    @property
    def messages(self) -> MessageStore:
        """Direct, thread-safe access to the kept emails for in-process tests."""
        return self.state.store

    def _bound(self, sock: socket.socket | None) -> tuple[Any, ...]:
        if sock is None:
            raise RuntimeError("the sink is not bound yet: call bind() or start() first")
        return sock.getsockname()

    def bind(self) -> None:
        """Listen on both ports now, so a taken port fails before anything starts."""
        if self._smtp_sock is not None:
            return
        smtp_port, http_port = self._requested_ports
        smtp_sock = _listen(self.host, smtp_port, "--smtp-port")
        try:
            http_sock = _listen(self.host, http_port, "--http-port")
        except SinkStartError:
            smtp_sock.close()
            raise
        self._smtp_sock, self._http_sock = smtp_sock, http_sock

    # -- asyncio

    async def serve(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        """Serve SMTP and HTTP on the running loop until `stop` is set, then close everything."""
        self.bind()
        assert self._smtp_sock is not None and self._http_sock is not None
        keep_message_content_out_of_logs()
        loop = asyncio.get_running_loop()
        smtp_protocol, connections = smtp_protocols(self.state, loop)
        smtp_server = await loop.create_server(smtp_protocol, sock=self._smtp_sock, backlog=1024)
        config = uvicorn.Config(
            create_app(self.state, self.smtp_address),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        web = _EmbeddedUvicorn(config)
        web_task = asyncio.create_task(web.serve(sockets=[self._http_sock]))
        stop_task = asyncio.create_task(stop.wait())
        try:
            while not web.started and not web_task.done():
                await asyncio.sleep(0.01)
            if web_task.done():
                await web_task
                raise RuntimeError("the sink's web server stopped while starting")
            log.info(
                "SMTP sink ready: SMTP on %s, emails at %s/ (keeps the last %d)",
                self.smtp_address,
                self.base_url,
                self.state.store.max_messages,
            )
            if not _is_loopback(self.host):
                log.warning("listening on %s: anyone who reaches it can read every email", self.host)
            if on_ready is not None:
                on_ready()
            await asyncio.wait({stop_task, web_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_task.cancel()
            smtp_server.close()
            for protocol in list(connections):
                if protocol.transport is not None:
                    protocol.transport.close()
            web.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await web_task
            await smtp_server.wait_closed()
            self._smtp_sock = self._http_sock = None
            log.info("SMTP sink stopped")

    # -- background thread

    def start(self, timeout: float = 10.0) -> SmtpSink:
        """Serve in a background thread with its own event loop; returns once both ports answer."""
        if self._thread is not None:
            raise RuntimeError("this sink was already started")
        self.bind()
        ready = threading.Event()

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.serve(self._stop, on_ready=ready.set)

        def target() -> None:
            try:
                asyncio.run(run())
            except BaseException as exc:  # reported to the starting thread
                self._thread_error = exc
                ready.set()

        self._thread = threading.Thread(target=target, name="smtp-sink", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"the SMTP sink did not start within {timeout:g} s")
        if self._thread_error is not None:
            raise RuntimeError(
                f"the SMTP sink failed to start: {self._thread_error!r}"
            ) from self._thread_error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the SMTP sink did not stop within {timeout:g} s")
        self._thread = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
