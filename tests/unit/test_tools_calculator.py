"""The calculator: exact answers for what users write, clear refusals, never eval."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from bot.tools.base import ToolError
from bot.tools.calculator import Calculator

CTX: Any = object()


async def calc(expression: str) -> str:
    return await Calculator().tool(5).call(CTX, {"expression": expression})


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        ("2 + 2 * 3", "2 + 2 * 3 = 8"),
        ("0.1 + 0.2", "0.1 + 0.2 = 0.3"),
        ("2^10", "2^10 = 1024"),
        ("2**0.5", "2**0.5 = 1.4142135623731"),
        ("7 / 2", "7 / 2 = 3.5"),
        ("6 / 3", "6 / 3 = 2"),
        ("7 // 2", "7 // 2 = 3"),
        ("-7 % 3", "-7 % 3 = 2"),
        ("-(3 - 5)", "-(3 - 5) = 2"),
        ("12 × 3 ÷ 4 =", "12 × 3 ÷ 4 = 9"),
        ("sqrt(16) + abs(-2)", "sqrt(16) + abs(-2) = 6"),
        ("sin(pi / 2)", "sin(pi / 2) = 1"),
        (
            "cos(0) + tan(0) + asin(0) + acos(1) + atan(0)",
            "cos(0) + tan(0) + asin(0) + acos(1) + atan(0) = 1",
        ),
        ("log(e)", "log(e) = 1"),
        ("log(8, 2)", "log(8, 2) = 3"),
        ("log10(1000) + log2(8)", "log10(1000) + log2(8) = 6"),
        ("exp(0)", "exp(0) = 1"),
        ("round(2.567, 2)", "round(2.567, 2) = 2.57"),
        ("floor(2.7) + ceil(2.1)", "floor(2.7) + ceil(2.1) = 5"),
        ("factorial(20)", "factorial(20) = 2432902008176640000"),
        ("tau / 2", "tau / 2 = 3.14159265358979"),
        ("2**100", "2**100 = 1267650600228229401496703205376"),
        ("1e20 * 3", "1e20 * 3 = 3e+20"),
    ],
)
async def test_arithmetic(expression: str, answer: str) -> None:
    assert await calc(expression) == answer


async def test_large_exact_results_within_limits() -> None:
    result = await calc("factorial(1000)")
    assert len(result.split(" = ")[1]) == 2568


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("sqrt(-1)", "outside the function's domain"),
        ("log(0)", "outside the function's domain"),
        ("(-8) ** (1/3)", "not a real number"),
        ("exp(1000)", "too large"),
        ("1e308 * 10", "too large"),
        ("10.0 ** 400", "too large"),
        ("2 ** 100000", "more than 3000 digits"),
        ("9 ** 9 ** 9", "more than 3000 digits"),
        ("factorial(1001)", "up to 1000"),
        ("factorial(2.5)", "whole number"),
        ("1,000,000", "commas"),
        ("x + 1", "unknown name 'x'"),
        ("__import__('os').system('id')", "unknown function"),
        ("(1).__class__", "unsupported syntax"),
        ("'a' * 3", "must produce a number"),
        ("[1, 2]", "unsupported syntax"),
        ("1 if 2 else 3", "unsupported syntax"),
        ("lambda: 1", "unsupported syntax"),
        ("sqrt(1, 2)", "takes 1 argument"),
        ("round(x=1)", "positional arguments only"),
        ("2 +", "could not parse"),
        ("", "empty"),
        ("1j * 2", "must produce a number"),
    ],
)
async def test_refusals_say_why(expression: str, reason: str) -> None:
    with pytest.raises(ToolError, match=re.escape(reason)):
        await calc(expression)


async def test_size_limits() -> None:
    with pytest.raises(ToolError, match="longer than 500"):
        await calc("1+" * 250 + "1")
    with pytest.raises(ToolError, match="too complex"):
        await calc("+".join(["1"] * 120))


async def test_huge_powers_are_refused_before_computing() -> None:
    started = time.perf_counter()
    with pytest.raises(ToolError, match="digits"):
        await calc("10 ** 10 ** 10")
    assert time.perf_counter() - started < 0.5


def test_description_tells_the_model_about_caret_and_functions() -> None:
    spec = Calculator().tool(5).spec
    assert "^" in spec.description
    assert "factorial" in spec.description
    assert spec.parameters["required"] == ["expression"]
