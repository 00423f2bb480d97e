"""pytest fixtures for real services: `-p iact.pytest_plugin`, or automatic once the package is installed.

iact_postgres, iact_mysql, iact_redis: one sandbox each per session (dict: host, port, database,
user, password, url, env). iact_sandbox(service, **options): a new one per call, destroyed after
the test. Each is an `iact run` (iact.sandbox.Sandbox), so nothing outlives the session, even a killed one.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List

import pytest

from ._cli import IactError
from .sandbox import Sandbox


class SandboxFactory:
    """Calls start sandboxes; close() destroys them all, newest first."""

    def __init__(self) -> None:
        self._open: List[Sandbox] = []

    def __call__(self, service: str, **options: Any) -> Dict[str, Any]:
        try:
            box = Sandbox(service, **options)
        except IactError as error:
            # Machines without the servers may opt out, visibly, as the vitest suite does (README.md, Development).
            if os.environ.get("IACT_ALLOW_MISSING_SERVICES") == "1":
                pytest.skip(f"no {service} sandbox (IACT_ALLOW_MISSING_SERVICES=1): {error}")
            raise
        self._open.append(box)
        return box.connection

    def close(self) -> None:
        errors = []
        while self._open:
            try:
                self._open.pop().close()
            except IactError as error:
                errors.append(str(error))
        if errors:
            raise IactError("\n".join(errors))


@pytest.fixture(scope="session")
def iact_session_sandboxes() -> Iterator[SandboxFactory]:
    factory = SandboxFactory()
    yield factory
    factory.close()


@pytest.fixture
def iact_sandbox() -> Iterator[SandboxFactory]:
    factory = SandboxFactory()
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def iact_postgres(iact_session_sandboxes: SandboxFactory) -> Dict[str, Any]:
    return iact_session_sandboxes("postgres")


@pytest.fixture(scope="session")
def iact_mysql(iact_session_sandboxes: SandboxFactory) -> Dict[str, Any]:
    return iact_session_sandboxes("mysql")


@pytest.fixture(scope="session")
def iact_redis(iact_session_sandboxes: SandboxFactory) -> Dict[str, Any]:
    return iact_session_sandboxes("redis")
