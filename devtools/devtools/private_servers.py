"""A PostgreSQL cluster and a RabbitMQ node of a test run's own, for the suites that stop servers.

The fault suite stops the broker and the database on purpose. Stopping the machine's own servers
(5432, 5672) would cut off everything else using them (a `make up`, other test runs), so it runs
on these instead: started from the installed Debian packages (`/usr/lib/postgresql/*/bin`,
`/usr/lib/rabbitmq/bin`), each with its own data folder, ports, socket, Erlang port mapper and
cookie, and stopped, started and removed by the run that made them, leaving no process behind.

    with private_servers("portal-faults") as servers:
        servers.database_url, servers.amqp_uri, servers.management  # the platform's settings
        servers.rabbitmq.stop(); servers.rabbitmq.start()           # an outage
        servers.postgres.stop(); servers.postgres.start()

Every wait has a timeout. Nothing here ever names the machine's servers: every command carries
this node's name or this cluster's data folder, and `stop` refuses a system port.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devtools.stack import free_port
from shared.testing.infra import InfraError, Management

# The ports of the machine's own servers (PostgreSQL, AMQP, management, Erlang distribution, epmd):
# never one of ours, and never one a private server is stopped on.
SYSTEM_PORTS = frozenset({5432, 5672, 15672, 25672, 4369})
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0
COMMAND_TIMEOUT_SECONDS = 120.0
# A folder of ours is named `<prefix>-<pid of the run>-<random>` (the pid finds a dead run's leftovers).
FOLDER_MARK = "-servers-"
KEPT = "KEPT"  # in a folder kept on purpose (`keep`): never swept


class PrivateServerError(InfraError):
    """A private server could not be made, started or stopped; the message says which and why."""


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise PrivateServerError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports and port not in SYSTEM_PORTS:
            ports.append(port)
    return ports


def refuse_system_port(port: int, what: str) -> None:
    """The guard of every stop: a private server never listens on a port of the machine's own."""
    if port in SYSTEM_PORTS:
        raise PrivateServerError(f"refusing to stop {what} on port {port}: that is the machine's own")


def processes_in(folder: Path) -> list[int]:
    """The processes whose working directory is inside `folder`: a private server's, and only
    its (PostgreSQL's backends work in their data folder, RabbitMQ's in the node's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if cwd == folder or folder in cwd.parents:
            found.append(int(entry.name))
    return found


def kill_processes_in(folder: Path, timeout: float = 10) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_in(folder):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            wait_for(lambda: not processes_in(folder), timeout, f"the processes in {folder} to end")
            return
        except PrivateServerError:
            if sig == signal.SIGKILL:
                raise


def run(argv: list[str], *, env: dict[str, str], cwd: Path, user: str | None = None) -> str:
    """Run a server command; its output, or an error naming the command and what it said."""
    try:
        result = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            extra_groups=[] if user else None,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PrivateServerError(
            f"{argv[0]} {argv[1:3]} did not end within {COMMAND_TIMEOUT_SECONDS:g} s"
        ) from None
    if result.returncode != 0:
        raise PrivateServerError(
            f"{' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}".strip()
        )
    return result.stdout


# --- PostgreSQL -------------------------------------------------------------------------------


# The superuser `postgres` without a password (the platform's default DATABASE_URL's user).
INITDB_OPTIONS = ("-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")


def postgres_bin_dir() -> Path:
    """The newest installed server's programs (Debian: /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        initdb = shutil.which("initdb")
        if initdb is None:
            raise PrivateServerError("no PostgreSQL server installed (Debian: apt-get install postgresql)")
        return Path(initdb).parent
    return found[-1].parent


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in `folder`: trust authentication, its own port and socket folder,
    no fsync (a test's data need not survive a power cut). As root, it runs as `postgres`."""

    folder: Path
    port: int
    name: str  # shown by `ps` in every process of the cluster ("postgres: <name>: checkpointer")
    bin_dir: Path = field(default_factory=postgres_bin_dir)
    user: str | None = field(default_factory=lambda: "postgres" if os.geteuid() == 0 else None)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> str:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(self.folder)}
        return run([str(self.bin_dir / program), *args], env=env, cwd=self.folder, user=self.user)

    def create(self) -> None:
        self.folder.mkdir(parents=True)
        self.socket_dir.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.folder, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.folder.chmod(0o700)
        self._run("initdb", "-D", str(self.data_dir), *INITDB_OPTIONS)
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "cluster_name": f"'{self.name}'",
            "max_connections": "200",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# A private cluster of a test run (devtools.private_servers)\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        timeout = f"{START_TIMEOUT_SECONDS:.0f}"
        self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log), "-w", "-t", timeout)
        wait_for(self.accepting, START_TIMEOUT_SECONDS, f"the private PostgreSQL on {self.port}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (an outage): `fast` ends every session at once."""
        refuse_system_port(self.port, "PostgreSQL")
        timeout = f"{STOP_TIMEOUT_SECONDS:.0f}"
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", timeout)
        wait_for(lambda: not port_open(self.port), STOP_TIMEOUT_SECONDS, f"port {self.port} to close")

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def accepting(self) -> bool:
        result = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-t", "5"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return result.returncode == 0

    def close(self) -> None:
        """Stop the cluster if it runs, however it can be; no process of it is left."""
        if self.running():
            try:
                self.stop("fast")
            except PrivateServerError:
                pass
        kill_processes_in(self.folder)


# --- RabbitMQ ---------------------------------------------------------------------------------


def rabbitmq_program(name: str) -> str:
    """A RabbitMQ script itself, not Debian's /usr/sbin wrapper (which switches to the rabbitmq
    user and writes the machine node's startup log)."""
    direct = Path("/usr/lib/rabbitmq/bin") / name
    if direct.exists():
        return str(direct)
    found = shutil.which(name)
    if found is None:
        raise PrivateServerError(f"{name} is not installed (Debian: apt-get install rabbitmq-server)")
    return found


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node in `folder` with the management plugin: its own node name, AMQP,
    management and distribution ports, its own Erlang port mapper (epmd) and cookie."""

    folder: Path
    node: str  # name@localhost
    amqp_port: int
    management_port: int
    dist_port: int
    epmd_port: int
    server: subprocess.Popen[bytes] | None = None
    epmd: subprocess.Popen[bytes] | None = None

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@{HOST}:{self.amqp_port}/"

    @property
    def management(self) -> Management:
        return Management(f"http://{HOST}:{self.management_port}", "guest", "guest")

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def environment(self) -> dict[str, str]:
        """The node's settings, for the server and for every command sent to it. HOME holds the
        node's own cookie; RABBITMQ_CONF_ENV_FILE keeps the machine's rabbitmq-env.conf out."""
        files = self.folder
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "HOME": str(files / "home"),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CONF_ENV_FILE": str(files / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(files / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(files / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(files / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(files / "mnesia"),
            "RABBITMQ_LOG_BASE": str(files / "log"),
            "RABBITMQ_PID_FILE": str(files / "rabbitmq.pid"),
        }

    def create(self) -> None:
        home = self.folder / "home"
        home.mkdir(parents=True)
        self.folder.chmod(0o700)
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20).upper())
        cookie.chmod(0o400)
        (self.folder / "rabbitmq-env.conf").write_text("# none: the environment says everything\n")
        (self.folder / "rabbitmq.conf").write_text(
            f"management.tcp.ip = {HOST}\nmanagement.tcp.port = {self.management_port}\n"
        )
        (self.folder / "enabled_plugins").write_text("[rabbitmq_management].\n")

    def launch(self) -> None:
        """Start the Erlang VM with the broker in it, and wait until the broker and its
        management API answer."""
        env = self.environment()
        self.epmd = subprocess.Popen(
            [shutil.which("epmd") or "epmd", "-port", str(self.epmd_port), "-address", HOST],
            env=env,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.epmd_port), 30, f"epmd on {self.epmd_port}")
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(
                [rabbitmq_program("rabbitmq-server")],
                env=env,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def ctl(self, *args: str) -> str:
        return run(
            [rabbitmq_program("rabbitmqctl"), "-n", self.node, *args],
            env=self.environment(),
            cwd=self.folder,
        )

    def ready(self) -> bool:
        if not port_open(self.amqp_port):
            return False
        try:
            self.management.request("GET", "/api/overview")
        except InfraError:
            return False
        return True

    def wait_ready(self) -> None:
        def up() -> bool:
            if self.server is not None and self.server.poll() is not None:
                raise PrivateServerError(
                    f"the private RabbitMQ {self.node} exited with {self.server.returncode}; see {self.log}"
                )
            return self.ready()

        wait_for(up, START_TIMEOUT_SECONDS, f"the private RabbitMQ {self.node}", every=0.5)

    def stop(self) -> None:
        """Stop the broker (an outage: `rabbitmqctl stop_app`, the Erlang VM stays up)."""
        refuse_system_port(self.amqp_port, "RabbitMQ")
        assert self.node.split("@")[0] != "rabbit", self.node  # never the machine's node
        self.ctl("stop_app")
        wait_for(
            lambda: not port_open(self.amqp_port), STOP_TIMEOUT_SECONDS, f"port {self.amqp_port} to close"
        )

    def start(self) -> None:
        """Start the broker again after `stop`, and wait until it and its management API answer."""
        self.ctl("start_app")
        self.wait_ready()

    def close(self) -> None:
        """Stop the node and its port mapper; no process of theirs is left."""
        for process in (self.server, self.epmd):
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)  # the node stops gracefully on SIGTERM
            except ProcessLookupError:
                continue
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        kill_processes_in(self.folder)


# --- both -------------------------------------------------------------------------------------


def missing_programs() -> list[str]:
    """What is not installed of what the private servers are started with (empty: all is)."""
    missing = []
    try:
        bin_dir = postgres_bin_dir()
        missing += [p for p in ("initdb", "pg_ctl", "pg_isready") if not (bin_dir / p).exists()]
    except PrivateServerError:
        missing.append("initdb")
    for name in ("rabbitmq-server", "rabbitmqctl"):
        try:
            rabbitmq_program(name)
        except PrivateServerError:
            missing.append(name)
    if shutil.which("epmd") is None:
        missing.append("epmd")
    return missing


@dataclass
class PrivateServers:
    folder: Path
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ

    @property
    def database_url(self) -> str:
        """The cluster's `postgres` database, as the platform's DATABASE_URL."""
        return self.postgres.database_url

    @property
    def amqp_uri(self) -> str:
        return self.rabbitmq.amqp_uri

    @property
    def management(self) -> Management:
        return self.rabbitmq.management

    @property
    def ports(self) -> list[int]:
        r = self.rabbitmq
        return [self.postgres.port, r.amqp_port, r.management_port, r.dist_port, r.epmd_port]

    def ensure_running(self) -> None:
        """Whatever a test did, leave both servers running and answering."""
        if not self.postgres.accepting():
            if not self.postgres.running():
                self.postgres.start()
            wait_for(self.postgres.accepting, START_TIMEOUT_SECONDS, "the private PostgreSQL")
        if not self.rabbitmq.ready():
            try:
                self.rabbitmq.start()
            except PrivateServerError:  # already starting: wait for it
                self.rabbitmq.wait_ready()

    def logs(self) -> list[Path]:
        return [self.postgres.log, self.rabbitmq.log, *sorted((self.rabbitmq.folder / "log").glob("*.log"))]


def sweep_stale(base: Path, prefix: str) -> None:
    """Remove the folders, and end the processes, of runs of `prefix` that died without tearing
    down (their pid in the folder's name no longer runs), except those kept on purpose."""
    for folder in base.glob(f"{prefix}{FOLDER_MARK}*"):
        pid = folder.name.removeprefix(f"{prefix}{FOLDER_MARK}").split("-")[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists() or (folder / KEPT).exists():
            continue
        kill_processes_in(folder)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def private_servers(
    prefix: str,
    *,
    base: Path | None = None,
    keep_logs: Path | None = None,
    keep: bool = False,
    say: Callable[[str], None] = print,
) -> Iterator[PrivateServers]:
    """A private PostgreSQL cluster and RabbitMQ node, running, in a new folder under `base` (the
    temporary folder); both stopped at the end and the folder removed (unless `keep`), the logs
    copied to `keep_logs` first when given. `prefix` names the folder, the cluster and the node
    (`<prefix>-<pid>@localhost`)."""
    base = base or Path(tempfile.gettempdir())
    sweep_stale(base, prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{FOLDER_MARK}{os.getpid()}-", dir=base))
    folder.chmod(0o755)  # so that the cluster's own user reaches its folder inside
    pg_port, amqp, management, dist, epmd = free_ports(5)
    name = f"{prefix}-{os.getpid()}"
    postgres = PrivatePostgres(folder / "postgres", pg_port, name)
    rabbitmq = PrivateRabbitMQ(folder / "rabbitmq", f"{name}@localhost", amqp, management, dist, epmd)
    servers = PrivateServers(folder, postgres, rabbitmq)
    with ExitStack() as cleanup:
        if keep:
            (folder / KEPT).touch()
            cleanup.callback(say, f"kept for a look (servers stopped): {folder}")
        else:
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        if keep_logs is not None:
            cleanup.callback(copy_logs, servers, keep_logs)
        cleanup.callback(rabbitmq.close)
        cleanup.callback(postgres.close)
        postgres.create()
        rabbitmq.create()
        postgres.start()
        rabbitmq.launch()
        yield servers


def copy_logs(servers: PrivateServers, to: Path) -> None:
    to.mkdir(parents=True, exist_ok=True)
    for log in servers.logs():
        if log.exists():
            shutil.copyfile(log, to / log.name)
