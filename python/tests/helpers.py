"""Shared by the tests: the repo's manifests, the variables that choose an environment, leftover checks."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[2]

# The detection order of README.md ("Which environment"): cleared so the host's own choice does not leak in.
DETECTION_VARIABLES = ("IACT_ENV", "ENVIRONMENT", "APP_ENV", "DJANGO_ENV")

PROD_ENV = {
    "DB_PROD_HOST": "db.internal.example.com",
    "DB_PROD_USER": "app_user",
    "DB_PROD_PASSWORD": "pr0d-pa55word-'quoted' & spaced",
    "REDIS_PROD_HOST": "cache.internal.example.com",
    "REDIS_PROD_PASSWORD": "redis-prod-secret-value",
    "LLM_API_KEY": "sk-live-0123456789abcdef",
    "API_BASE_URL": "https://api.example.com",
}


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def processes_mentioning(text: str, where: str = "cmdline") -> List[str]:
    """Live processes whose command line or working directory (redis-server retitles itself; its cwd is
    the sandbox) contains `text`; with where="environ", whose environment does."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            if where == "environ":
                hit = text in (entry / "environ").read_bytes().decode("utf-8", "replace")
            else:
                hit = text in cmdline or text in os.readlink(entry / "cwd")
        except OSError:
            continue
        if hit:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found
