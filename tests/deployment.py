"""A deployed Airflow on this machine, for tests that `airflow dags test` cannot show: a real
scheduler running tasks in parallel, PostgreSQL as the metadata database, the API server (the
tasks' Execution API), the DAG processor and the triggerer.

The scheduler runs tasks with LocalExecutor, or, given `worker_hosts`, with CeleryExecutor:
a Redis server as the broker and one Celery worker per host, each host a namespace of its own
(tests/hosts.py: its own hostname and private /tmp) so that the workers share no more than two
machines would; `kill_host` SIGKILLs every process of one, `start_worker` brings it back.

PostgreSQL and Redis come from Debian's packages (installed with apt-get when absent) and run
from the deployment's folder on free loopback ports. Every process started here is stopped by
its PID (a host's: by its namespace) when the deployment closes, also after a failure; the
logs of every process stay in the deployment's folder (`Deployment.logs`), and are copied to
`artifacts` when asked.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from hosts import Host
from redis_server import RedisServer, free_port
from support import ROOT, debian_install

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
AIRFLOW_PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")


def _postgres_bin() -> Path:
    """Debian's PostgreSQL server programs, installed from Debian's packages if absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        debian_install("postgresql", "PostgreSQL")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent


class Postgres:
    """A throw-away PostgreSQL server: temporary data directory, loopback port, trust auth.

    The server refuses to run as root, so as root it runs as Debian's `postgres` user."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.bin = _postgres_bin()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.log = folder / "postgres.log"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> Postgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user)
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c max_connections=200",
            "-w",
            "start",
        )
        self._run(
            str(self.bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-c",
            "CREATE DATABASE airflow",
        )
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/airflow"

    def query(self, sql: str, *args) -> list[tuple]:
        import psycopg2

        with (
            contextlib.closing(
                psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="airflow")
            ) as conn,
            conn.cursor() as cursor,
        ):
            cursor.execute(sql, args)
            return cursor.fetchall()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")


class Deployment:
    """PostgreSQL plus Airflow's own processes with `parallelism` task slots, reading DAGs
    from `dags_folder`; `env` is added to every process (connections). Tasks run with
    LocalExecutor, or with CeleryExecutor on one worker of `worker_concurrency` slots per
    name in `worker_hosts`, each a separate host."""

    def __init__(
        self,
        dags_folder: Path,
        env: dict[str, str],
        *,
        parallelism: int = 8,
        worker_hosts: tuple[str, ...] = (),
        worker_concurrency: int = 2,
    ):
        self.folder = Path(tempfile.mkdtemp(prefix="sms-deploy-"))
        self.folder.chmod(0o755)  # PostgreSQL's own user must reach its folder inside
        self.logs = self.folder / "logs"
        self.logs.mkdir()
        self.postgres = Postgres(self.folder / "postgres")
        self.redis = RedisServer(self.folder / "redis") if worker_hosts else None
        self.worker_concurrency = worker_concurrency
        self.api_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env.update(
            {
                "AIRFLOW_HOME": str(self.folder / "airflow"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(parallelism),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": (
                    f"http://127.0.0.1:{self.api_port}/execution/"
                ),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                # Where the UI is, as a deployment says it (links in texts point there).
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # Log servers on ports of the deployment's own: deployments run side by side.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            }
        )
        if self.redis:
            self.env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                    "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.postgres.url}",
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
                    # Each worker reports its own host's name (the default's DNS lookup of it
                    # would answer the machine's, or nothing).
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
                    # A host gone without a word is noticed by its tasks' missing heartbeats:
                    # soon, so that their retries run on the other host within a test.
                    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                }
            )
        self.env.update(env)
        self.processes: dict[str, subprocess.Popen] = {}
        # What a host keeps of the machine's /tmp: the code, this folder, the DAGs.
        keep = [ROOT, Path(sys.prefix), self.folder, dags_folder]
        self.hosts = {name: Host(name, keep=keep) for name in worker_hosts}
        # tempfile must answer the host's own /tmp in its processes.
        self.worker_env = {k: v for k, v in self.env.items() if k != "TMPDIR"}

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Deployment:
        try:
            self.postgres.start()
            if self.redis:
                self.redis.start()
            self.airflow("db", "migrate")
            for name in AIRFLOW_PROCESSES:
                self.start_process(name)
            self._wait_for_api()
            # Side by side: a worker takes a while to start on a small machine.
            started = [self._launch_worker(host) for host in self.hosts]
            for host, log_start in zip(self.hosts, started, strict=True):
                self._wait_for_worker(host, log_start)
        except BaseException:
            self.stop()
            raise
        return self

    def start_process(self, name: str) -> subprocess.Popen:
        """Start `airflow <name>` in a session of its own, its output appended to its log."""
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, name],
            env=self.env,
            stdout=(self.logs / f"{name}.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.processes[name]

    def start_worker(self, host: str) -> subprocess.Popen:
        """Start the Celery worker of `host` (again after `kill_host`); once it is ready."""
        self._wait_for_worker(host, self._launch_worker(host))
        return self.processes[f"worker-{host}"]

    def _launch_worker(self, host: str) -> int:
        """Start `airflow celery worker` as `host`; where its log stood before."""
        name = f"worker-{host}"
        log = self.logs / f"{name}.log"
        log_start = log.stat().st_size if log.exists() else 0
        command = [
            AIRFLOW,
            "celery",
            "worker",
            "--celery-hostname",
            f"{host}@%h",
            "--concurrency",
            str(self.worker_concurrency),
            "--pid",
            str(self.folder / f"{name}.pid"),
            "--skip-serve-logs",  # task logs are read from the shared folder
            # Airflow's default queue, and one a task can name to run on this host.
            "--queues",
            f"default,{host}",
        ]
        self.processes[name] = subprocess.Popen(
            self.hosts[host].command(command),
            env=self.worker_env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.hosts[host].started(self.processes[name].pid)
        return log_start

    def _wait_for_worker(self, host: str, log_start: int, timeout: float = 180) -> None:
        """Until Celery says the worker is ready (`<host>@<hostname> ready.`)."""
        name = f"worker-{host}"
        log = self.logs / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with log.open(errors="replace") as lines:
                lines.seek(log_start)
                if any(f"{host}@" in line and " ready." in line for line in lines):
                    return
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"the worker of {host} exited:\n{self.tail(name)}")
            time.sleep(0.5)
        raise RuntimeError(f"the worker of {host} was not ready in {timeout:.0f} s")

    def kill_host(self, host: str) -> None:
        """SIGKILL every process of `host` at once: its Celery worker, the worker's pool and
        the tasks' processes, as when the machine is lost."""
        self.hosts[host].kill()
        self.processes[f"worker-{host}"].wait()
        # Celery would take a PID file left behind for a worker still running.
        (self.folder / f"worker-{host}.pid").unlink(missing_ok=True)

    def kill(self, name: str) -> None:
        """SIGKILL `airflow <name>` and every process it started (its session), at once."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def restart_api_server(self) -> None:
        """Start the API server again (after `kill`), and wait until it answers."""
        self.start_process("api-server")
        self._wait_for_api()

    def _wait_for_api(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited:\n{self.tail(name)}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            time.sleep(0.5)
        raise RuntimeError(f"the API server did not answer in {timeout:.0f} s")

    def stop(self) -> None:
        """Stop every process this deployment started, by its PID (its whole group), the
        workers' hosts first and whole (their tasks may have left the worker's group)."""
        for host in self.hosts.values():
            host.kill()
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.postgres.stop()
        if self.redis:
            self.redis.stop()

    def remove(self) -> None:
        """Delete the deployment's folder (PostgreSQL's data, Airflow's home, the logs) and
        what the hosts left outside it."""
        for host in self.hosts.values():
            host.remove()
        shutil.rmtree(self.folder, ignore_errors=True)

    def keep_logs(self, artifacts: Path) -> Path:
        """Copy every process's log (and Airflow's task logs) to `artifacts`."""
        target = artifacts / self.folder.name
        shutil.copytree(self.logs, target / "processes", dirs_exist_ok=True)
        task_logs = self.folder / "airflow" / "logs"
        if task_logs.exists():
            shutil.copytree(task_logs, target / "airflow-logs", dirs_exist_ok=True)
        if self.postgres.log.exists():
            shutil.copy(self.postgres.log, target / "postgres.log")
        if self.redis and self.redis.log.exists():
            shutil.copy(self.redis.log, target / "redis.log")
        return target

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    # -- using it ----------------------------------------------------------------------

    def airflow(self, *args: str) -> str:
        result = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def rest(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """A call to the API server's REST API (as its admin): the status and the answer."""
        base = f"http://127.0.0.1:{self.api_port}"
        with urllib.request.urlopen(f"{base}/auth/token", timeout=30) as reply:
            token = json.load(reply)["access_token"]
        request = urllib.request.Request(
            f"{base}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the DAG processor has parsed `dag_id` into the database."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.postgres.query("SELECT 1 FROM dag WHERE dag_id = %s", dag_id):
                return
            time.sleep(1)
        raise RuntimeError(f"DAG {dag_id} was not parsed in {timeout:.0f} s")

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger a run (as the CLI does); returns its run_id."""
        self.wait_for_dag(dag_id)
        run_id = f"deploy__{secrets.token_hex(6)}"
        args = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf:
            args += ["--conf", json.dumps(conf)]
        self.airflow(*args)
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.postgres.query(
            "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", dag_id, run_id
        )
        return rows[0][0] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        """Until the run is finished; its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        raise RuntimeError(f"run {run_id} of {dag_id} did not finish in {timeout:.0f} s")

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """Every log Airflow wrote for `task_id` in that run (its tries, its triggers)."""
        logs = self.folder / "airflow" / "logs"
        parts = (f"dag_id={dag_id}", f"run_id={run_id}", f"task_id={task_id}")
        return "\n".join(
            p.read_text() for p in logs.rglob("*.log") if all(part in p.parts for part in parts)
        )

    def deferral_handled(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> bool:
        """Whether the scheduler has taken in the executor's report that try `try_number` of
        the task deferred (a cleared task's next try defers again). A task resumed before that
        is failed by Airflow as "changed externally" (apache/airflow#71580), so a test answers a
        deferred task only after it. Taken in: received from the executor, which Airflow logs
        before it handles the report, or drops it when another transaction holds the task's row
        at that moment (then no "TaskInstance Finished" line follows)."""
        received = (
            "Received executor event with state success for task instance TaskInstanceKey("
            f"dag_id='{dag_id}', task_id='{task_id}', run_id='{run_id}', "
            f"try_number={try_number},"
        )
        return received in (self.logs / "scheduler.log").read_text(errors="replace")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        rows = self.postgres.query(
            "SELECT task_id, map_index, state, try_number, pid, hostname, start_date, end_date "
            "FROM task_instance WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index",
            dag_id,
            run_id,
        )
        keys = (
            "task_id",
            "map_index",
            "state",
            "try_number",
            "pid",
            "hostname",
            "start_date",
            "end_date",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]


def wait_for(condition, what: str, timeout: float = 180):
    """`condition()`'s first true value, asked every 0.3 s; fails naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def copy_of_dags(source: Path, folder: Path, *extra: Path) -> Path:
    """A copy of `source`'s DAG files (and the `extra` files) in `folder`, which a test may
    edit as a user would."""
    shutil.copytree(
        source, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    for path in extra:
        shutil.copy(path, folder)
    return folder


@contextlib.contextmanager
def deployed(dags_folder: Path, env: dict[str, str], *, artifacts: Path, request, **options):
    """A started Deployment (`options`: Deployment's) for a pytest fixture: stopped and
    removed afterwards, with every process's log kept in `artifacts` when it failed to start
    or a test of the session failed while it ran."""
    deployment = Deployment(dags_folder, env, **options)
    failed_before = request.session.testsfailed
    started = False
    try:
        deployment.start()
        started = True
        yield deployment
    finally:
        deployment.stop()
        if not started or request.session.testsfailed > failed_before:
            kept = deployment.keep_logs(artifacts)
            print(f"\nLogs of every process kept in {kept}")
        deployment.remove()
