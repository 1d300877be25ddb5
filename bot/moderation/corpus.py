"""The clean side of the classifier: ordinary answers and requests shipped with the bot
(`neutral/*.txt`, everyday how-tos and instructions) and the route files' examples."""

from __future__ import annotations

from pathlib import Path

from bot.routing.routes import RouteFileError, load_routes

NEUTRAL_DIR = Path(__file__).resolve().parent / "neutral"


def neutral_texts(routes_dir: Path | None) -> list[str]:
    """Blocking (reads files). Route files that cannot be read are left out."""
    texts: list[str] = []
    for path in sorted(NEUTRAL_DIR.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(line.strip())
    if routes_dir is not None:
        try:
            book = load_routes(routes_dir)
        except RouteFileError:
            return texts
        texts += book.training_data()[0]
    return texts
