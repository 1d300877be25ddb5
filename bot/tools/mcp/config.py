"""`[mcp]` in config.toml: the MCP servers whose tools models may call.

A server is either a command the bot starts and talks to over stdio, or a URL it reaches
over streamable HTTP. Only operators write this file; nothing a user or a model says ever
becomes a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator
from yarl import URL

from bot.config_sections import StrictModel
from bot.tools.names import SERVER_ID_PATTERN
from bot.tools.netguard import UrlRefusedError, check_url

ServerId = Annotated[str, StringConstraints(pattern=SERVER_ID_PATTERN)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
Description = str | dict[Literal["en", "ru"], str]


class McpServerConfig(StrictModel):
    enabled: bool = True
    # What /tools shows beside the server's tools; a string, or one text per language.
    # Unset: the description the server gives of itself.
    description: Description = ""
    # stdio: the command the bot starts (and restarts), with its arguments.
    command: str | None = Field(default=None, min_length=1)
    args: list[str] = Field(default_factory=list)
    cwd: str | None = None
    # The server's environment: empty but for these. `env` values are written here (no
    # secrets); `pass_env` names variables copied from the bot's environment (or .env).
    env: dict[EnvName, str] = Field(default_factory=dict)
    pass_env: list[EnvName] = Field(default_factory=list)
    # Streamable HTTP: the endpoint, and headers whose values come from environment variables
    # (header name -> variable name), e.g. { Authorization = "WIKI_MCP_AUTH" }.
    url: str | None = None
    headers_env: dict[HeaderName, EnvName] = Field(default_factory=dict)
    # true: the URL may be a loopback, private or link-local address (the guard of fetch_url
    # refuses those otherwise). Only for a server you run on purpose on such an address.
    private: bool = False
    # Only these of the server's tools (their names as the server lists them); unset: all.
    tools: list[str] | None = None
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # per call

    @field_validator("description")
    @classmethod
    def _description(cls, value: Description) -> Description:
        texts = [value] if isinstance(value, str) else list(value.values())
        if any(len(text) > 300 for text in texts):
            raise ValueError("keep the description to 300 characters")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError(
                "give either command (a server the bot starts, over stdio) or url (a server "
                "over streamable HTTP), not both or neither"
            )
        if self.url is not None:
            stdio_only = [n for n in ("args", "cwd", "env", "pass_env") if getattr(self, n)]
            if stdio_only:
                raise ValueError(
                    f"{', '.join(stdio_only)} apply to a server started with command; remove "
                    "them from a url server"
                )
            self._check_url(self.url)
        elif self.headers_env or self.private:
            raise ValueError("headers_env and private apply to url servers only; remove them")
        return self

    def _check_url(self, raw: str) -> None:
        try:
            url = URL(raw)
        except ValueError:
            raise ValueError(f"url '{raw}' is not a valid URL") from None
        if url.user is not None or url.password is not None:
            raise ValueError(
                "url: no user name or password in the URL; put credentials in an environment "
                "variable and name it in headers_env"
            )
        try:
            check_url(url, frozenset())
        except UrlRefusedError as exc:
            if self.private and url.scheme in ("http", "https"):
                return
            hint = "; set private = true if this server is on such an address on purpose"
            raise ValueError(f"url {raw}: {exc}{hint if 'private' in str(exc) else ''}") from None

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    def descriptions(self) -> Mapping[str, str]:
        if isinstance(self.description, str):
            return {"en": self.description} if self.description else {}
        return {str(k): v for k, v in self.description.items()}

    def variables(self) -> list[tuple[str, str]]:
        """(field, variable) for each environment variable this server needs set."""
        named = [(f"pass_env ({name})", name) for name in self.pass_env]
        return named + [(f"headers_env.{h}", v) for h, v in self.headers_env.items()]


class McpConfig(StrictModel):
    # Connecting to a server and listing its tools, at start and after each restart.
    startup_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # A server that fails is restarted (stdio) or reconnected (HTTP) after this wait, which
    # doubles after each failure up to max_backoff_seconds.
    restart_backoff_seconds: float = Field(default=1.0, gt=0, le=600)
    max_backoff_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # How often the tools of a server that is up are listed again (a remote server that went
    # away is noticed then, or at its next call, and a changed list is picked up).
    check_interval_seconds: float = Field(default=60.0, ge=1, le=86_400)
    servers: dict[ServerId, McpServerConfig] = Field(default_factory=dict)

    @property
    def active(self) -> dict[str, McpServerConfig]:
        return {k: v for k, v in self.servers.items() if v.enabled}
