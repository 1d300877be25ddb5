"""The calculator tool: exact arithmetic without eval, by walking a whitelisted syntax tree."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from bot.tools.base import Tool, ToolContext, ToolError, define_tool

Number = int | float

MAX_EXPRESSION_CHARS = 500
MAX_NODES = 200
MAX_FACTORIAL = 1000
MAX_DIGITS = 3000  # factorial(1000) has 2568 digits
_MAX_INT = 10**MAX_DIGITS

_REPLACEMENTS = {"×": "*", "·": "*", "÷": "/", "−": "-", "^": "**"}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _round(x: Number, ndigits: int | None = None) -> Number:
    if ndigits is not None and not isinstance(ndigits, int):
        raise ValueError("round() takes a whole number of digits")
    return round(x) if ndigits is None else round(x, ndigits)


def _factorial(x: Number) -> int:
    if isinstance(x, float):
        if not x.is_integer():
            raise ValueError("factorial() needs a whole number")
        x = int(x)
    if x < 0:
        raise ValueError("factorial() needs a number >= 0")
    if x > MAX_FACTORIAL:
        raise ToolError(f"factorial() is limited to numbers up to {MAX_FACTORIAL}")
    return math.factorial(x)


# name -> (function, allowed argument counts)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], tuple[int, ...]]] = {
    "sqrt": (math.sqrt, (1,)),
    "sin": (math.sin, (1,)),
    "cos": (math.cos, (1,)),
    "tan": (math.tan, (1,)),
    "asin": (math.asin, (1,)),
    "acos": (math.acos, (1,)),
    "atan": (math.atan, (1,)),
    "log": (_log, (1, 2)),
    "ln": (_log, (1,)),
    "log10": (math.log10, (1,)),
    "log2": (math.log2, (1,)),
    "exp": (math.exp, (1,)),
    "abs": (abs, (1,)),
    "round": (_round, (1, 2)),
    "floor": (math.floor, (1,)),
    "ceil": (math.ceil, (1,)),
    "factorial": (_factorial, (1,)),
}


def _power(base: Number, exponent: Number) -> Number:
    """`base ** exponent`, refused before computing when the result would be enormous."""
    exact = isinstance(base, int) and isinstance(exponent, int)
    if exact and exponent > 1 and abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_DIGITS:
        raise ToolError(f"the result of this power would have more than {MAX_DIGITS} digits")
    result: Number | complex = base**exponent
    if isinstance(result, complex):
        raise ValueError("a negative number to a fractional power is not a real number")
    return result


def _checked(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("the expression must produce a number")
    if isinstance(value, int) and abs(value) >= _MAX_INT:
        raise ToolError(f"the result has more than {MAX_DIGITS} digits")
    if isinstance(value, float) and math.isinf(value):
        raise OverflowError("the result is too large")
    if isinstance(value, float) and math.isnan(value):
        raise ValueError("the result is not a number")
    return value


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        return _checked(node.value)
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise ToolError(f"unknown name '{node.id}'; known constants: pi, e, tau")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _checked(_power(left, right))
        if type(node.op) in _BINARY:
            return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.Tuple):
        raise ToolError("commas only separate function arguments; write 1000000, not 1,000,000")
    raise ToolError(f"unsupported syntax: {ast.unparse(node)[:60]}")


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        name = ast.unparse(node.func)[:40]
        raise ToolError(f"unknown function '{name}'; available: {', '.join(_FUNCTIONS)}")
    if node.keywords:
        raise ToolError(f"{node.func.id}() takes positional arguments only")
    function, arities = _FUNCTIONS[node.func.id]
    if len(node.args) not in arities:
        counts = " or ".join(str(n) for n in arities)
        raise ToolError(f"{node.func.id}() takes {counts} argument(s)")
    return _checked(function(*(_evaluate(arg) for arg in node.args)))


def _normalize(expression: str) -> str:
    text = expression.strip()
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text.rstrip("= ").strip()


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression; raises ToolError with a reason."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = _normalize(expression)
    if not text:
        raise ToolError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolError(
            f"could not parse '{text}'; write arithmetic like 2*pi*3 or sqrt(2)/2"
        ) from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolError("the expression is too complex; split it into smaller steps")
    try:
        return _evaluate(tree)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("the result is too large (overflow)") from None
    except (ValueError, TypeError) as exc:
        reason = str(exc)
        if reason == "math domain error":
            reason = "an argument is outside the function's domain (e.g. log(0), sqrt(-1))"
        raise ToolError(f"math error: {reason}") from None


def format_number(value: Number) -> str:
    """Integers as integers; floats with at most 15 significant digits (0.1 + 0.2 -> 0.3)."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


class Calculator:
    async def calculator(
        self,
        ctx: ToolContext,
        expression: Annotated[
            str,
            Field(
                description="The arithmetic expression, e.g. '(2 + 3) * sqrt(16) / 7' or "
                "'2^10'. Plain numbers without thousand separators."
            ),
        ],
    ) -> str:
        """Evaluate an arithmetic expression exactly; use it for any calculation instead of
        computing in your head. Supports + - * / // % and ** (or ^) with parentheses, the
        functions sqrt, sin, cos, tan, asin, acos, atan (radians), log(x) (natural),
        log(x, base), log10, log2, exp, abs, round, floor, ceil, factorial, and the constants
        pi, e, tau. Returns 'expression = result'."""
        result = format_number(evaluate(expression))
        return f"{expression.strip().rstrip('= ').strip()} = {result}"

    def tool(self, timeout: float) -> Tool:
        return define_tool(
            self.calculator, name="calculator", status_key="tool-status-calculator", timeout=timeout
        )
