"""Command line: `python -m bot [run|worker|ingress|sandbox|migrate|check-config|routes|
moderation|characters|tools]`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from pathlib import Path

from bot.config import Settings, load_settings, read_environment, secret_values
from bot.config_errors import ConfigError
from bot.logs import LOG_FORMATS, redact_secrets, setup_logging
from bot.moderation.topics import TopicFileError
from bot.routing.routes import RouteFileError, load_routes

DEFAULT_CONFIG = Path("config.toml")
EXAMPLE_CONFIG = Path("config.example.toml")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = os.environ.get("BOT_LOG_LEVEL") or "INFO"
    if level.upper() not in logging.getLevelNamesMapping():
        print(f"BOT_LOG_LEVEL={level!r} is not a log level; use DEBUG, INFO, WARNING or ERROR")
        return 2
    log_format = (os.environ.get("BOT_LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        print(f"BOT_LOG_FORMAT={log_format!r} is not a log format; use text or json")
        return 2
    setup_logging(level.upper(), log_format)
    command = args.command or "run"
    try:
        if command == "sandbox" or (command == "run" and not _has_token()):
            if command == "run":
                print("TELEGRAM_BOT_TOKEN is not set: starting the sandbox instead.")
            return _sandbox(args)
        if command == "migrate":
            return asyncio.run(_migrate(_settings(args)))
        if command in ("worker", "ingress"):
            settings = _settings(args)
            if settings.redis is None:
                print(
                    f"python -m bot {command} needs a [redis] section (docs/scaling.md); "
                    "without it, `python -m bot run` does everything in one process",
                    file=sys.stderr,
                )
                return 2
            if command == "ingress":
                return _ingress(settings)
            return _run(settings, _config_path(args), ingress=False)
        if command == "characters":
            return _characters(args)
        if command == "tools":
            from bot.tools import cli as tools_cli

            return tools_cli.run(_settings(args), read_environment(Path(".env")))
        if command == "moderation":
            from bot.moderation import cli as moderation_cli

            return moderation_cli.run(args, lambda: _settings(args), _config_path(args).exists())
        if command == "routes":
            from bot.routing import cli as routes_cli

            return routes_cli.run(args, lambda: _settings(args), _config_path(args).exists())
        if command == "check-config":
            from bot.routing.cli import check_summary

            settings = _settings(args)
            print(f"{_config_path(args)}: OK ({len(settings.chat_model_ids)} models)")
            for line in check_summary(settings):
                print(line)
            voice = settings.transcription_model_id
            print(f"voice: {f'transcribed by {voice}' if voice else 'off (no transcribe model)'}")
            if settings.moderation.enabled:
                from bot.moderation.topics import load_topics

                topics = load_topics(settings.moderation.topics_dir)
                print(f"moderation: on, topics {', '.join(topics.ids) or 'none'}")
            for server_id, server in settings.mcp.servers.items():
                state = server.transport if server.enabled else "disabled"
                print(f"mcp: {server_id} ({state}); `python -m bot tools list` lists its tools")
            return 0
        return _run(_settings(args), _config_path(args))
    except ConfigError as exc:
        print(f"Configuration error:\n{exc}", file=sys.stderr)
        return 2
    except RouteFileError as exc:
        print(f"Route files error:\n{exc}", file=sys.stderr)
        return 2
    except TopicFileError as exc:
        print(f"Content filter topic files error:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $BOT_CONFIG, else config.toml)",
    )
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", parents=[common], help="run the bot (polling or webhook, as configured)")
    sub.add_parser(
        "worker", parents=[common], help="with [redis]: handle updates of the queue's partitions"
    )
    sub.add_parser(
        "ingress", parents=[common], help="with [redis]: take updates in (webhook or polling)"
    )
    sandbox = sub.add_parser(
        "sandbox", parents=[common], help="run the bot against a local fake Telegram and LLM"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765, help="chat page and fake Bot API port")
    sandbox.add_argument("--data-dir", type=Path, default=Path("sandbox-data"))
    sub.add_parser("migrate", parents=[common], help="apply database migrations and exit")
    sub.add_parser("check-config", parents=[common], help="validate the configuration and exit")
    from bot.routing.cli_args import add_parser as add_routes_parser

    add_routes_parser(sub, common)
    from bot.moderation.cli import add_parser as add_moderation_parser

    add_moderation_parser(sub, common)
    from bot.tools.cli import add_parser as add_tools_parser

    add_tools_parser(sub, common)
    characters = sub.add_parser("characters", parents=[common], help="character files")
    character_commands = characters.add_subparsers(dest="characters_command", required=True)
    card = character_commands.add_parser(
        "import", parents=[common], help="convert a Character Card V2/V3 (JSON or PNG)"
    )
    card.add_argument("file", type=Path)
    card.add_argument("--id", default=None, help="the character id (default: from its name)")
    card.add_argument("--force", action="store_true", help="replace an existing file")
    card.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: [characters] directory)"
    )
    return parser


def _config_path(args: argparse.Namespace, *, sandbox: bool = False) -> Path:
    if getattr(args, "config", None) is not None:
        return Path(args.config)
    if os.environ.get("BOT_CONFIG"):
        return Path(os.environ["BOT_CONFIG"])
    if sandbox and not DEFAULT_CONFIG.exists():
        return EXAMPLE_CONFIG
    return DEFAULT_CONFIG


def _has_token() -> bool:
    return bool(read_environment(Path(".env")).get("TELEGRAM_BOT_TOKEN"))


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args))


def _run(settings: Settings, config_path: Path, *, ingress: bool = True) -> int:
    from bot.startup import StartupError, preflight

    env = read_environment(Path(".env"))
    redact_secrets(secret_values(settings, env))
    if settings.routing.enabled:  # operator files first: a broken route file is named
        load_routes(settings.routing.routes_dir, default=settings.routing.default_route)

    async def main() -> None:
        await preflight(settings, env)  # before the bot's code loads: a wrong token fails fast
        bootstrap = await asyncio.to_thread(importlib.import_module, "bot.bootstrap")
        runtime = await asyncio.to_thread(importlib.import_module, "bot.runtime")
        app = await bootstrap.build_application(settings, env, config_path=config_path)
        await runtime.run(app, ingress=ingress)

    try:
        asyncio.run(main())
    except StartupError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    return 0


def _ingress(settings: Settings) -> int:
    from bot.runtime import run_ingress

    redact_secrets(secret_values(settings, read_environment(Path(".env"))))
    asyncio.run(run_ingress(settings))
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.runner import SandboxStartError, importing, run_sandbox

    host = getattr(args, "host", "127.0.0.1")
    port = getattr(args, "port", 8765)
    data_dir = getattr(args, "data_dir", Path("sandbox-data"))
    config = _config_path(args, sandbox=True)

    def ready(url: str) -> None:
        print(
            f"\n  Sandbox ready. Open {url} in a browser to chat with the bot.\n"
            "  (Messages wait until the bot has started; the page shows its progress.\n"
            "  Stop with Ctrl+C; delete the sandbox-data folder to start afresh.)\n",
            flush=True,
        )

    def progress(what: str) -> None:
        print(f"  sandbox: {what}", flush=True)

    try:
        asyncio.run(
            run_sandbox(
                config,
                host=host,
                port=port,
                data_dir=data_dir,
                on_ready=ready,
                on_progress=progress,
            )
        )
    except SandboxStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if importing():  # Ctrl+C while the bot's code still loads: nothing to finish
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # an interpreter shutdown would wait for (or trip over) the import
        raise
    return 0


def _characters(args: argparse.Namespace) -> int:
    from bot.characters.cards import CardError, import_card
    from bot.config import CharactersConfig

    path = _config_path(args)
    directory = args.dir or (
        load_settings(path).characters.directory if path.exists() else CharactersConfig().directory
    )
    try:
        written = import_card(args.file, directory, character_id=args.id, overwrite=args.force)
    except CardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{written} written; review it (the Russian texts are copies of the card's) and edit")
    return 0


async def _migrate(settings: Settings) -> int:
    from bot.storage.database import open_database
    from bot.storage.migrate import upgrade

    db = open_database(settings.storage.url)
    try:
        revision = await upgrade(db)
    finally:
        await db.close()
    print(f"database at revision {revision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
