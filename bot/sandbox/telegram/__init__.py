"""A fake Telegram Bot API server (the "sandbox") and a client for its control API."""

from .client import SandboxClient
from .server import TelegramSandbox

__all__ = ["SandboxClient", "TelegramSandbox"]
