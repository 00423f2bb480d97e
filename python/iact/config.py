"""EnvironmentConfig: the settings of one environment, typed, from ONE call of `iact config --format json`."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from ._cli import IactError, run_cli


class EnvironmentConfig:
    """The seed's EnvironmentConfig over the iact CLI: values keep the manifest's types (int, bool, float).

    `environment=None` detects it as the CLI does (IACT_ENV, ENVIRONMENT, APP_ENV, DJANGO_ENV, .env);
    `project_dir=None` means the nearest folder with environments/ above the working directory.
    Secrets read "(sensitive)" unless `show_sensitive=True`.
    """

    def __init__(self, environment: Optional[str] = None, project_dir: Optional[os.PathLike] = None, show_sensitive: bool = False) -> None:
        args: List[str] = []
        root = Path(project_dir).resolve() if project_dir is not None else None
        if root is not None:
            args += ["--dir", str(root)]
        args += ["config", "--format", "json"]
        if environment is not None:
            args += ["--env", environment]
        if show_sensitive:
            args.append("--show-sensitive")
        out = run_cli(args, start_dirs=[root] if root is not None else [])
        try:
            self._data: Dict[str, Any] = json.loads(out)
        except ValueError:
            raise IactError(f"error: `iact config --format json` printed something that is not JSON: {out[:200]!r}\n  fix: check IACT_CLI points at iact") from None
        self.show_sensitive = show_sensitive

    # -- identity ---------------------------------------------------------------------------------
    @property
    def environment(self) -> str:
        return self._data["environment"]

    @property
    def source(self) -> str:
        """Where the environment name came from, e.g. "ENVIRONMENT in .env"."""
        return self._data["source"]

    @property
    def file(self) -> str:
        """The manifest, relative to the project root."""
        return self._data["file"]

    @property
    def is_dev(self) -> bool:
        return self.environment == "development"

    @property
    def is_staging(self) -> bool:
        return self.environment == "staging"

    @property
    def is_prod(self) -> bool:
        return self.environment == "production"

    # -- sections ---------------------------------------------------------------------------------
    def _section(self, name: str) -> Optional[Dict[str, Any]]:
        value = self._data.get(name)
        return copy.deepcopy(value) if value is not None else None

    def get_database_config(self) -> Optional[Dict[str, Any]]:
        """host, port, database (and its seed alias name), user, password, ssl_mode, ssl_ca, use_vm, ssh_tunnel; None without a database."""
        db = self._section("database")
        if db is None:
            return None
        for optional in ("password", "ssl_mode", "ssl_ca", "sandbox"):
            db.setdefault(optional, None)
        db["name"] = db.get("database")
        return db

    def get_cache_config(self) -> Optional[Dict[str, Any]]:
        """backend ("memory" | "redis"), ttl, and for redis host, port, password; None without a cache."""
        return self._section("cache")

    def get_llm_config(self) -> Optional[Dict[str, Any]]:
        """provider, model, api_key, base_url, max_tokens, monthly_budget, prefer_local, fallback_to_heuristics."""
        return self._section("llm")

    def get_api_config(self) -> Optional[Dict[str, Any]]:
        """base_url, timeout, verify_ssl, use_mock, api_key."""
        return self._section("api")

    def get_logging_config(self) -> Optional[Dict[str, Any]]:
        """level, console, file, file_path."""
        return self._section("logging")

    def get_feature_flags(self) -> Dict[str, bool]:
        return dict(self._data.get("features", {}))

    def is_feature_enabled(self, name: str) -> bool:
        return self._data.get("features", {}).get(name) is True

    def validate(self) -> List[str]:
        """The problems `iact config` reports for this environment (empty when it is complete); a manifest
        that does not load at all raised IactError from the constructor instead, with file:line and the fix."""
        if "problems" not in self._data:
            raise IactError("error: this iact CLI does not report problems in `iact config --format json`\n  fix: upgrade iact")
        return list(self._data["problems"])

    def as_dict(self) -> Dict[str, Any]:
        """Everything `iact config --format json` printed."""
        return copy.deepcopy(self._data)

    def __repr__(self) -> str:
        return f"EnvironmentConfig(environment={self.environment!r}, file={self.file!r})"
