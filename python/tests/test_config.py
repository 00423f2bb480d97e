"""EnvironmentConfig against the real CLI: typed values, masking as the CLI masks, diagnostics as IactError."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import iact
from helpers import DETECTION_VARIABLES, PROD_ENV, REPO


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary project with the repo's three manifests and none of the host's choices."""
    shutil.copytree(REPO / "environments", tmp_path / "environments")
    for name in (*DETECTION_VARIABLES, *PROD_ENV, "DB_VM_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_development_is_the_default_with_typed_values(project: Path) -> None:
    config = iact.EnvironmentConfig()
    assert (config.environment, config.is_dev, config.is_staging, config.is_prod) == ("development", True, False, False)
    assert "default" in config.source
    assert config.file == "environments/development.yaml"
    db = config.get_database_config()
    assert db is not None
    assert db["host"] == "127.0.0.1"
    assert db["port"] == 55432 and isinstance(db["port"], int)
    assert db["database"] == db["name"] == "iact_dev"
    assert db["user"] == "iact_user"
    assert db["password"] == "(sensitive)"
    assert db["use_vm"] is True
    assert db["ssh_tunnel"] == {"enabled": False}
    assert db["ssl_mode"] == "disable" and db["ssl_ca"] is None
    llm = config.get_llm_config()
    assert llm is not None
    assert llm["max_tokens"] == 2000 and isinstance(llm["max_tokens"], int)
    assert llm["monthly_budget"] == 0 and llm["prefer_local"] is True and llm["fallback_to_heuristics"] is True
    cache = config.get_cache_config()
    assert cache == {"backend": "redis", "ttl": 300, "sandbox": "dev-redis", "host": "127.0.0.1", "port": 56379, "password": "(sensitive)"}
    assert isinstance(cache["port"], int)
    assert config.get_api_config() == {"base_url": "http://localhost:8000", "timeout": 30, "verify_ssl": False, "use_mock": True}
    assert config.get_logging_config() == {"level": "DEBUG", "console": True, "file": False}
    assert config.get_feature_flags() == {"enable_llm": True, "enable_caching": True, "debug_mode": True}
    assert config.is_feature_enabled("debug_mode") is True
    assert config.is_feature_enabled("no_such_flag") is False
    assert config.validate() == []
    # Copies: a caller editing its dict does not change the next answer.
    db["port"] = 1
    assert config.get_database_config()["port"] == 55432  # type: ignore[index]


def test_show_sensitive_gives_the_secret(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert iact.EnvironmentConfig(show_sensitive=True).get_database_config()["password"] == "iact-dev-password"  # type: ignore[index]
    monkeypatch.setenv("DB_VM_PASSWORD", "from-the-process")
    assert iact.EnvironmentConfig("development", show_sensitive=True).get_database_config()["password"] == "from-the-process"  # type: ignore[index]


def test_staging_detected_from_dotenv(project: Path) -> None:
    (project / ".env").write_text("ENVIRONMENT=staging\nSTAGING_REDIS_PORT=56999\n")
    config = iact.EnvironmentConfig()
    assert (config.environment, config.is_staging, config.source) == ("staging", True, "ENVIRONMENT in .env")
    cache = config.get_cache_config()
    assert cache == {"backend": "redis", "sandbox": "staging-redis", "host": "127.0.0.1", "port": 56999, "password": "(sensitive)", "ttl": 1800}
    llm = config.get_llm_config()
    assert llm is not None and llm["monthly_budget"] == 50 and llm["prefer_local"] is False
    assert config.get_api_config()["verify_ssl"] is True  # type: ignore[index]
    assert config.is_feature_enabled("debug_mode") is False
    assert config.validate() == []


def test_production_masks_every_secret_unless_asked(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    config = iact.EnvironmentConfig("production", project_dir=project)
    assert config.is_prod
    db = config.get_database_config()
    assert db is not None
    assert (db["host"], db["port"], db["user"], db["password"], db["ssl_mode"], db["use_vm"]) == (
        "db.internal.example.com", 5432, "app_user", "(sensitive)", "require", False)
    assert config.get_cache_config()["password"] == "(sensitive)"  # type: ignore[index]
    assert config.get_llm_config()["api_key"] == "(sensitive)"  # type: ignore[index]
    assert config.get_llm_config()["monthly_budget"] == 500  # type: ignore[index]
    assert config.get_api_config()["base_url"] == "https://api.example.com"  # type: ignore[index]
    assert config.validate() == []
    dumped = json.dumps(config.as_dict()) + repr(config)
    for secret in (PROD_ENV["DB_PROD_PASSWORD"], PROD_ENV["REDIS_PROD_PASSWORD"], PROD_ENV["LLM_API_KEY"]):
        assert secret not in dumped
    clear = iact.EnvironmentConfig("production", project_dir=project, show_sensitive=True)
    assert clear.get_database_config()["password"] == PROD_ENV["DB_PROD_PASSWORD"]  # type: ignore[index]
    assert clear.get_llm_config()["api_key"] == PROD_ENV["LLM_API_KEY"]  # type: ignore[index]


def test_production_without_its_variables_raises_the_cli_diagnostic(project: Path) -> None:
    with pytest.raises(iact.IactError) as caught:
        iact.EnvironmentConfig("production")
    text = str(caught.value)
    assert caught.value.returncode == 1
    assert "environments/production.yaml:8:11  error: variable DB_PROD_HOST is not set" in text
    assert "fix: set API_BASE_URL in .env.production" in text
    assert "Traceback" not in text and "    at " not in text  # a diagnostic, not a Python or Node stack


def test_unknown_environment_lists_the_manifests(project: Path) -> None:
    with pytest.raises(iact.IactError, match=r'no manifest for environment "qa"(.|\n)*fix: use --env development \| production \| staging'):
        iact.EnvironmentConfig("qa")


def test_cli_not_found_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(iact.IactError, match=r"iact CLI was not found(.|\n)*npm install --save-dev"):
        iact.find_cli([tmp_path], env={"PATH": str(tmp_path)}, use_checkout=False)
    with pytest.raises(iact.IactError, match=r"not built(.|\n)*npm run build"):
        iact.find_cli([tmp_path], env={"PATH": str(tmp_path)}, checkout_cli=tmp_path / "dist" / "cli.js")
    with pytest.raises(iact.IactError, match="IACT_CLI=/no/such/iact does not name a program"):
        iact.find_cli(env={"IACT_CLI": "/no/such/iact", "PATH": str(tmp_path)})
    # node_modules/.bin/iact in a parent of the project, as `npm install --save-dev` leaves it.
    bin_dir = tmp_path / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "iact").write_text("#!/bin/sh\n")
    (bin_dir / "iact").chmod(0o755)
    (tmp_path / "app" / "sub").mkdir(parents=True)
    assert iact.find_cli([tmp_path / "app" / "sub"], env={"PATH": ""}, use_checkout=False) == [str(bin_dir / "iact")]


def test_a_script_reads_all_three_environments(project: Path) -> None:
    """What a settings module or a bash-called script does: a separate process, importing iact."""
    script = project / "read_settings.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        from iact import EnvironmentConfig
        out = {}
        for name in ("development", "staging", "production"):
            c = EnvironmentConfig(name)
            out[name] = {"db": c.get_database_config(), "llm": c.get_llm_config(), "flags": c.get_feature_flags(),
                         "prod": c.is_prod, "problems": c.validate()}
        print(json.dumps(out))
    """))
    package_dir = str(Path(iact.__file__).resolve().parents[1])
    env = {**os.environ, **PROD_ENV, "PYTHONPATH": package_dir}
    done = subprocess.run([sys.executable, str(script)], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    settings = json.loads(done.stdout)
    assert settings["development"]["db"]["port"] == 55432
    assert settings["staging"]["db"]["port"] == 55433
    assert settings["staging"]["db"]["password"] == "(sensitive)"
    assert settings["production"]["db"]["port"] == 5432
    assert settings["production"]["db"]["password"] == "(sensitive)"
    assert settings["production"]["llm"]["max_tokens"] == 4000
    assert settings["production"]["prod"] is True and settings["development"]["prod"] is False
    assert settings["production"]["flags"]["debug_mode"] is False
    assert all(settings[name]["problems"] == [] for name in settings)
    assert PROD_ENV["DB_PROD_PASSWORD"] not in done.stdout + done.stderr
