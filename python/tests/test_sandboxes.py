"""The pytest fixtures against real servers: each connects with the real client, and nothing is left behind."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import iact
from helpers import port_open, processes_mentioning


def psql(conn: Dict[str, Any], sql: str) -> str:
    # The password travels in PGPASSWORD (conn["env"]), never on a command line.
    done = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], env={**os.environ, **conn["env"]},
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def redis(conn: Dict[str, Any], *commands: List[str]) -> List[bytes]:
    """RESP over a raw socket: one reply line per command (enough for AUTH, PING, SET, GET of short values)."""
    replies = []
    with socket.create_connection((conn["host"], conn["port"]), timeout=10) as s, s.makefile("rb") as reader:
        for command in commands:
            wire = b"*%d\r\n" % len(command) + b"".join(b"$%d\r\n%s\r\n" % (len(p.encode()), p.encode()) for p in command)
            s.sendall(wire)
            line = reader.readline().rstrip(b"\r\n")
            if line.startswith(b"$") and line != b"$-1":
                line = reader.readline().rstrip(b"\r\n")
            replies.append(line)
    return replies


def test_postgres_session_fixture(iact_postgres: Dict[str, Any]) -> None:
    assert iact_postgres["host"] == "127.0.0.1" and isinstance(iact_postgres["port"], int)
    assert iact_postgres["url"].startswith("postgresql://")
    assert iact_postgres["env"]["DB_PORT"] == str(iact_postgres["port"])
    assert psql(iact_postgres, "select current_user || '|' || current_database()") == f"{iact_postgres['user']}|{iact_postgres['database']}"
    psql(iact_postgres, "create table shared (v text); insert into shared values ('from the first test')")


def test_postgres_is_shared_by_the_session(iact_postgres: Dict[str, Any]) -> None:
    assert psql(iact_postgres, "select v from shared") == "from the first test"


def test_redis_session_fixture(iact_redis: Dict[str, Any]) -> None:
    assert iact_redis["url"].startswith("redis://") and iact_redis["database"] == "" and iact_redis["password"]
    assert redis(iact_redis, ["PING"])[0].startswith(b"-NOAUTH")  # the password is required
    assert redis(iact_redis, ["AUTH", "default", iact_redis["password"]], ["SET", "k", "v1"], ["GET", "k"]) == [b"+OK", b"+OK", b"v1"]


def test_mysql_session_fixture(iact_mysql: Dict[str, Any]) -> None:
    assert iact_mysql["url"].startswith("mysql://")
    done = subprocess.run(
        ["mariadb", "--protocol=TCP", "-h", iact_mysql["host"], "-P", str(iact_mysql["port"]), "-u", iact_mysql["user"], "-N", "-B",
         "-e", "select concat(substring_index(current_user(), '@', 1), '|', database())", iact_mysql["database"]],
        env={**os.environ, **iact_mysql["env"]}, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{iact_mysql['user']}|{iact_mysql['database']}"


def test_factory_gives_a_new_sandbox_per_call(iact_sandbox: Any, iact_redis: Dict[str, Any]) -> None:
    mine = iact_sandbox("redis", driver="lightweight")
    assert mine["name"] != iact_redis["name"] and mine["port"] != iact_redis["port"]
    assert redis(mine, ["AUTH", "default", mine["password"]], ["GET", "k"]) == [b"+OK", b"$-1"]


def test_factory_passes_unknown_options_to_the_cli(iact_sandbox: Any) -> None:
    with pytest.raises(iact.IactError, match="--no-such-option"):
        iact_sandbox("redis", no_such_option="x")


def test_context_manager_destroys_the_sandbox() -> None:
    with iact.sandbox("redis") as conn:
        assert port_open(conn["port"])
        name = conn["name"]
    assert not port_open(conn["port"])
    assert processes_mentioning(name) == []


def test_unknown_service_is_the_cli_diagnostic() -> None:
    with pytest.raises(iact.IactError, match=r"--service nosql is not a service iact can run(.|\n)*fix: use one of: postgres, mysql, redis"):
        iact.Sandbox("nosql")


INNER_TEST = """
import json, os, time
def test_hold(iact_{service}):
    with open(os.environ["HOLD_FILE"] + ".tmp", "w") as f:
        json.dump({{"name": iact_{service}["name"], "port": iact_{service}["port"]}}, f)
    os.rename(os.environ["HOLD_FILE"] + ".tmp", os.environ["HOLD_FILE"])
    time.sleep(120)
"""


@pytest.mark.parametrize("service", ["postgres", "redis"])
def test_a_killed_pytest_leaves_no_server(service: str, tmp_path: Path) -> None:
    """SIGKILL gives pytest no teardown: the closed pipe ends the child, and iact run destroys the sandbox."""
    import json

    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TEST.format(service=service)))
    hold = tmp_path / "hold.json"
    run_root = tmp_path / "run-root"
    log = tmp_path / "inner.log"
    env = {**os.environ, "HOLD_FILE": str(hold), "IACT_RUN_ROOT": str(run_root),
           "PYTHONPATH": str(Path(iact.__file__).resolve().parents[1])}
    inner = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "iact.pytest_plugin",
                              "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_inner.py")],
                             cwd=tmp_path, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not hold.exists():
            assert inner.poll() is None, f"the inner pytest ended before its sandbox was up:\n{log.read_text()}"
            assert time.monotonic() < deadline, "no sandbox in the inner pytest after 120s"
            time.sleep(0.1)
        held = json.loads(hold.read_text())
        assert port_open(held["port"])
    finally:
        inner.send_signal(signal.SIGKILL)
        inner.wait()
    assert_nothing_left(run_root, held["port"], service)


def test_a_process_killed_while_its_sandbox_starts_leaves_no_server(tmp_path: Path) -> None:
    """Killed before the sandbox is ready: iact run finishes creating it, its child sees stdin closed, iact destroys it."""
    run_root = tmp_path / "run-root"
    env = {**os.environ, "IACT_RUN_ROOT": str(run_root), "PYTHONPATH": str(Path(iact.__file__).resolve().parents[1])}
    starter = subprocess.Popen([sys.executable, "-c", "import iact; iact.Sandbox('postgres')"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (run_root / "owners").is_dir() or not any((run_root / "owners").iterdir()):
            assert starter.poll() is None and time.monotonic() < deadline, "iact run never started making a sandbox"
            time.sleep(0.05)
    finally:
        starter.send_signal(signal.SIGKILL)
        starter.wait()
    assert_nothing_left(run_root, None, "postgres (killed while starting)")


def assert_nothing_left(run_root: Path, port: Optional[int], what: str) -> None:
    killed = time.monotonic()

    def leftovers() -> List[str]:
        # iact run and its child carry IACT_RUN_ROOT in their environment; the servers run in the run root.
        return ([f"port {port} open"] if port is not None and port_open(port) else []) + processes_mentioning(str(run_root)) + \
            processes_mentioning(f"IACT_RUN_ROOT={run_root}", where="environ") + \
            [str(p) for p in (run_root / "run").iterdir()] + [str(p) for p in (run_root / "owners").iterdir()]

    while leftovers() and time.monotonic() < killed + 90:
        time.sleep(0.2)
    assert leftovers() == []
    print(f"{what}: nothing left {time.monotonic() - killed:.1f}s after SIGKILL")
