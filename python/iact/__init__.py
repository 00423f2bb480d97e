"""iact for Python: typed connection settings (EnvironmentConfig) and ephemeral sandboxes, through the iact CLI."""
from ._cli import IactError, find_cli
from .config import EnvironmentConfig
from .sandbox import Sandbox, sandbox

__all__ = ["EnvironmentConfig", "IactError", "Sandbox", "find_cli", "sandbox"]
__version__ = "0.1.0"
