"""Turn validation errors into messages an operator can act on: file, field, problem, fix."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bot.config_sections import MODEL_ID_PATTERN
from bot.payments.config import PLAN_ID_PATTERN


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and how to fix it."""


_PATTERN_FIXES = {
    MODEL_ID_PATTERN: "use lowercase letters, digits, '.', '_' or '-', at most 40 characters",
    PLAN_ID_PATTERN: "use lowercase letters, digits, '_' or '-', at most 24 characters",
}
_FIXES: dict[str, str] = {
    "extra_forbidden": "remove it or correct the spelling (see config.example.toml for the keys)",
    "missing": "add it (see config.example.toml)",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "use the form the message shows",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "greater_than_equal": "raise the value",
    "greater_than": "raise the value",
    "less_than_equal": "lower the value",
    "less_than": "lower the value",
    "too_short": "add at least one entry",
    "string_too_short": "write a non-empty value",
    "string_too_long": "shorten the value",
}


def describe_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration ({exc.error_count()} problem(s)):"]
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"])
        if error["type"] == "value_error":
            # Our own validators already name the field and the fix.
            message = message.removeprefix("Value error, ")
            lines.append(f"  {field}: {message}" if error["loc"] else f"  {message}")
            continue
        fix = _FIXES.get(error["type"], "see config.example.toml for a valid example")
        pattern = (error.get("ctx") or {}).get("pattern")
        fix = _PATTERN_FIXES.get(str(pattern), fix)
        lines.append(f"  {field}: {message}; {fix}")
    return "\n".join(lines)
