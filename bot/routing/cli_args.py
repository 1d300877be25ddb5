"""The `routes` command's arguments: kept apart from its code, whose imports (the classifier,
the providers' SDKs) would otherwise load with every command, the sandbox's included."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    routes = sub.add_parser("routes", parents=[common], help="intent routing tools")
    commands = routes.add_subparsers(dest="routes_command", required=True)
    commands.add_parser("check", parents=[common], help="validate the route files")
    cal = commands.add_parser(
        "calibrate", parents=[common], help="compute the local stage's thresholds"
    )
    cal.add_argument("--folds", type=int, default=5)
    cal.add_argument("--confidence", type=float, default=0.9, help="of the error bounds")
    ev = commands.add_parser("eval", parents=[common], help="measure routing on labelled data")
    ev.add_argument("--data", type=Path, required=True, help='JSONL: {"text": ..., "route": ...}')
    ev.add_argument("--local-only", action="store_true", help="skip the LLM judge")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ex = commands.add_parser("export", parents=[common], help="judge-labelled messages as JSONL")
    ex.add_argument("--output", type=Path, default=None, help="file (default: standard output)")
    ex.add_argument(
        "--stage",
        action="append",
        default=None,
        help="decision stages to export (default: judge); repeat for several",
    )
