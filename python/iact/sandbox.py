"""Ephemeral sandboxes from Python: `iact run --service S -- <child>` kept open until closed.

The child prints its environment (the connection iact hands it) as one JSON line, then waits for
its stdin to close. Closing it, or the death of this process (the kernel closes the pipe), ends
the child, and `iact run` then destroys the sandbox (README.md, "Test suites: ephemeral sandboxes").
"""
from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional

from ._cli import IactError, find_cli

CHILD = "import json,os,sys; sys.stdout.write(json.dumps(dict(os.environ))+'\\n'); sys.stdout.flush(); sys.stdin.read()"

# A cold PostgreSQL or MariaDB sandbox is ready in a few seconds; this allows for a slow, busy machine.
READY_TIMEOUT = float(os.environ.get("IACT_SANDBOX_TIMEOUT", "300"))


def option_flags(options: Dict[str, Any]) -> List[str]:
    """driver="docker" -> --driver docker; any other keyword the same way, so newer `iact run` options work."""
    flags: List[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            flags.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                flags += [flag, str(item)]
        else:
            flags += [flag, str(value)]
    return flags


class Sandbox:
    """One running `iact run`; `connection` is the dict the fixtures return. close() destroys it."""

    def __init__(self, service: str, cwd: Optional[os.PathLike] = None, **options: Any) -> None:
        self.service = service
        base_env = dict(os.environ)
        command = [*find_cli([cwd] if cwd is not None else []), "run", "--service", service, *option_flags(options), "--", sys.executable, "-c", CHILD]
        # stderr to a file, not a pipe: if this process dies, iact must still be able to log while it cleans up.
        self._log = tempfile.TemporaryFile()
        try:
            # Its own session: a Ctrl-C meant for pytest does not cut the sandbox's teardown short.
            self._proc = subprocess.Popen(command, cwd=cwd, env=base_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True)
        except OSError as error:
            self._log.close()
            raise IactError(f"error: cannot run {command[0]}: {error.strerror}") from None
        line = self._read_line(READY_TIMEOUT)
        if not line:
            self.close(check=False)
            raise IactError(self._stderr() or f"error: iact run --service {service} ended before the sandbox was ready", returncode=self._proc.returncode)
        try:
            child_env: Dict[str, str] = json.loads(line)
        except ValueError:
            self.close(check=False)
            raise IactError(f"error: iact run --service {service} printed {line[:80]!r} where its command's environment was expected\n  fix: check that IACT_CLI runs iact") from None
        # What iact added to the environment it was given: DB_*/PG*/MYSQL_*/REDIS_*, *_URL, IACT_SANDBOX.
        env = {k: v for k, v in child_env.items() if base_env.get(k) != v}
        self.connection = self._connection(env)

    def _connection(self, env: Dict[str, str]) -> Dict[str, Any]:
        prefix, url = ("REDIS", "REDIS_URL") if self.service == "redis" else ("DB", "DATABASE_URL")
        return {
            "name": env.get("IACT_SANDBOX", ""),
            "service": self.service,
            "host": env[f"{prefix}_HOST"],
            "port": int(env[f"{prefix}_PORT"]),
            "database": env.get("DB_NAME", ""),
            "user": env.get("DB_USER", ""),
            "password": env[f"{prefix}_PASSWORD"],
            "url": env[url],
            "env": env,
        }

    def _read_line(self, timeout: float) -> bytes:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in data:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close(check=False)
                    raise IactError(f"error: no {self.service} sandbox after {timeout:.0f}s\n  {self._stderr()}\n  fix: see `iact doctor`; IACT_SANDBOX_TIMEOUT sets the wait in seconds")
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    return b""
                data += chunk
        return data.split(b"\n", 1)[0]

    def _stderr(self) -> str:
        """What iact run said on stderr (progress and diagnostics; never a secret)."""
        if self._log.closed:
            return self._said
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace").strip()

    def close(self, check: bool = True) -> None:
        """Let the child end and wait for iact to destroy the sandbox; IactError when that fails."""
        proc = self._proc
        if proc.returncode is None:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
            try:
                proc.wait(timeout=READY_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.terminate()  # iact run destroys the sandbox on SIGTERM too
                proc.wait()
        if not self._log.closed:
            self._said = self._stderr()
            self._log.close()
        if check and proc.returncode != 0:
            raise IactError(f"error: iact run --service {self.service} exited with {proc.returncode} while destroying its sandbox\n{self._said}", returncode=proc.returncode)


@contextlib.contextmanager
def sandbox(service: str, **options: Any) -> Iterator[Dict[str, Any]]:
    """`with iact.sandbox("postgres") as conn:` -- a sandbox for the block, destroyed afterwards."""
    box = Sandbox(service, **options)
    try:
        yield box.connection
    finally:
        box.close()
