"""Route files: the shipped ones are complete and calibrated; bad ones are refused naming the
file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.routing.calibration import Calibration
from bot.routing.routes import MIN_EXAMPLES, RouteFileError, load_route, load_routes

ROUTES = Path(__file__).parents[2] / "routes"
SHIPPED = ("chat", "code", "math", "translate", "writing", "image", "search")


def route_text(route_id: str = "demo", *, count: int = MIN_EXAMPLES, extra: str = "") -> str:
    en = "\n".join(f'    - "english example number {i}"' for i in range(count))
    ru = "\n".join(f'    - "пример номер {i}"' for i in range(count))
    return (
        f"---\nid: {route_id}\ndescription:\n  en: Demo.\n  ru: Демо.\n{extra}"
        f"examples:\n  en:\n{en}\n  ru:\n{ru}\n---\nAnswer well.\n"
    )


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(RouteFileError) as info:
        load_route(path)
    return str(info.value)


def test_shipped_routes_are_complete_and_their_calibration_is_current() -> None:
    book = load_routes(ROUTES)
    assert set(SHIPPED) <= set(book.ids)
    for route in book.routes.values():
        assert all(len(route.examples[lang]) >= MIN_EXAMPLES for lang in ("en", "ru"))
        assert route.instructions
        assert route.description["ru"]
    calibration = Calibration.load(ROUTES / "calibration.json")
    assert calibration.digest == book.digest, (
        "routes/*.md changed after the last calibration: run `python -m bot routes calibrate`"
    )
    assert set(calibration.routes) == set(book.ids)


def test_a_valid_file_loads(tmp_path: Path) -> None:
    route = load_route(write(tmp_path, "demo.md", route_text(extra="requires: [vision]\n")))
    assert route.id == "demo"
    assert route.requires == frozenset({"vision"})
    assert route.instructions == "Answer well."
    assert len(route.examples["ru"]) == MIN_EXAMPLES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (route_text(extra="colour: red\n"), "colour: unknown field; remove it or fix its spelling"),
        (route_text(count=3), "examples: en has 3 examples; write at least 40"),
        (route_text(extra="error_target: 0.9\n"), "error_target: Input should be less than 0.5"),
        (route_text(extra="requires: [telepathy]\n"), "requires.0: Input should be 'vision'"),
        (route_text("other"), "id: 'other' does not match the file name"),
        (route_text().replace("Answer well.\n", ""), "the body is empty"),
        ("just text\n", "no front matter"),
        ("---\nid: [unclosed\n---\nx\n", "the front matter is not valid YAML"),
    ],
)
def test_invalid_files_are_refused_with_file_field_and_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = refusal(write(tmp_path, "demo.md", text))
    assert message.startswith(f"{tmp_path / 'demo.md'}: ")
    assert expected in message


def test_file_names_must_be_safe_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "Bad.Name.md", route_text("Bad.Name"))
    assert "the file name must be <id>.md" in refusal(path)


def test_the_default_route_must_exist(tmp_path: Path) -> None:
    write(tmp_path, "one.md", route_text("one"))
    write(tmp_path, "two.md", route_text("two"))
    with pytest.raises(RouteFileError, match=r"routing\.default_route is 'chat'"):
        load_routes(tmp_path)
    assert load_routes(tmp_path, default="two").default == "two"
    with pytest.raises(RouteFileError, match="does not exist"):
        load_routes(tmp_path / "missing")


def test_the_digest_follows_the_files(tmp_path: Path) -> None:
    write(tmp_path, "chat.md", route_text("chat"))
    write(tmp_path, "two.md", route_text("two"))
    before = load_routes(tmp_path).digest
    write(tmp_path, "two.md", route_text("two").replace("Answer well.", "Answer briefly."))
    assert load_routes(tmp_path).digest != before
