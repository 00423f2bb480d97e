"""Finding and running the iact CLI: the one way the Python side reaches iact (see python/README.md)."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence

INSTALL_HINT = (
    "install it in the project (`npm install --save-dev /path/to/iact`, which gives node_modules/.bin/iact), "
    "put `iact` on PATH, or set IACT_CLI to its path"
)


class IactError(Exception):
    """The iact CLI could not be found, or it failed; the message is its diagnostic (summary, where, fix)."""

    def __init__(self, message: str, *, returncode: Optional[int] = None) -> None:
        super().__init__(message)
        self.returncode = returncode


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise IactError("error: node is not on PATH, and the iact CLI is a Node.js program\n  fix: install Node.js 20 or newer")
    return node


def _command_for(path: str) -> List[str]:
    # A bare .js file (dist/cli.js) may lack the executable bit: run it with node.
    return [_node(), path] if path.endswith((".js", ".mjs", ".cjs")) else [path]


def _checkout_cli() -> Optional[Path]:
    """dist/cli.js of the iact checkout this package sits in (python/iact/ inside the repo), if any."""
    repo = Path(__file__).resolve().parents[2]
    return repo / "dist" / "cli.js" if (repo / "package.json").is_file() and (repo / "src" / "cli.ts").is_file() else None


def find_cli(
    start_dirs: Iterable[os.PathLike] = (),
    env: Optional[Mapping[str, str]] = None,
    checkout_cli: Optional[Path] = None,
    use_checkout: bool = True,
) -> List[str]:
    """The argv prefix that runs iact: IACT_CLI, then `iact` on PATH, then node_modules/.bin/iact upwards, then this checkout's dist/cli.js."""
    env = os.environ if env is None else env
    explicit = env.get("IACT_CLI")
    if explicit:
        parts = [explicit] if Path(explicit).is_file() else shlex.split(explicit)
        if len(parts) > 1:
            return parts  # a whole command, e.g. "node /path/to/dist/cli.js"
        program = parts[0] if parts else ""
        found = shutil.which(program, path=env.get("PATH")) or (program if Path(program).is_file() else None)
        if found is None:
            raise IactError(f"error: IACT_CLI={explicit} does not name a program\n  fix: point IACT_CLI at the iact CLI (e.g. node_modules/.bin/iact), or unset it")
        return _command_for(found)
    on_path = shutil.which("iact", path=env.get("PATH"))
    if on_path:
        return [on_path]
    seen = set()
    for start in [*start_dirs, Path.cwd()]:
        base = Path(start).resolve()
        for folder in [base, *base.parents]:
            if folder in seen:
                break
            seen.add(folder)
            candidate = folder / "node_modules" / ".bin" / "iact"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return [str(candidate)]
    cli = checkout_cli if checkout_cli is not None else (_checkout_cli() if use_checkout else None)
    if cli is not None:
        if cli.is_file():
            return _command_for(str(cli))
        raise IactError(f"error: the iact CLI is not built: {cli} does not exist\n  fix: run `npm run build` in {cli.parent.parent}, or {INSTALL_HINT}")
    raise IactError(f"error: the iact CLI was not found (IACT_CLI, PATH, node_modules/.bin/iact)\n  fix: {INSTALL_HINT}")


def run_cli(args: Sequence[str], *, start_dirs: Iterable[os.PathLike] = ()) -> str:
    """Run `iact ARGS` once and return its stdout; IactError with its stderr when it exits non-zero."""
    command = find_cli(start_dirs)
    try:
        done = subprocess.run([*command, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    except OSError as error:
        raise IactError(f"error: cannot run {command[0]}: {error.strerror}\n  fix: {INSTALL_HINT}") from None
    if done.returncode != 0:
        message = done.stderr.strip() or f"error: `iact {args[0] if args else ''}` exited with {done.returncode} and said nothing"
        raise IactError(message, returncode=done.returncode)
    return done.stdout
