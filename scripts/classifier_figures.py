"""What the routing classifier costs at run time: `python -m scripts.classifier_figures`.

Trains the classifier for the shipped route files into a cache folder if it is not there yet,
then, in a fresh process, loads it from that cache the way the bot does and reports:
the resident memory (VmRSS) the load adds, the time the load takes, whether scikit-learn or
SciPy got imported, and the CPU time of one `scores()` call (p50/p95 over the held-out
messages of tests/data: the first pass, then all passes). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = sorted((ROOT / "tests" / "data").glob("routes_holdout*.jsonl"))


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def messages() -> list[str]:
    texts: list[str] = []
    for path in HELD_OUT:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def child(cache: Path, passes: int) -> dict[str, object]:
    """Runs in a fresh interpreter: what the bot's start and its turns pay."""
    from bot.routing.classifier import load_cached
    from bot.routing.routes import MAX_ROUTED_CHARS, load_routes

    book = load_routes(ROOT / "routes")
    texts = [t[:MAX_ROUTED_CHARS] for t in messages()]
    before = rss_kib()
    started = time.perf_counter()
    classifier = load_cached(book, cache)
    load_seconds = time.perf_counter() - started
    if classifier is None:
        raise SystemExit(f"no cached classifier in {cache}")
    loaded = rss_kib()
    first = time.process_time()
    classifier.scores(texts[0])
    first_call_ms = (time.process_time() - first) * 1000
    return {
        "messages": len(texts),
        "load_seconds": round(load_seconds, 4),
        "rss_added_mib": round((loaded - before) / 1024, 1),
        "first_call_cpu_ms": round(first_call_ms, 3),
        **cpu_figures(classifier.scores, texts, passes),
        "rss_added_after_scoring_mib": round((rss_kib() - before) / 1024, 1),
    }


def cpu_figures(score: Callable[[str], object], texts: list[str], passes: int) -> dict[str, Any]:
    """CPU time of `score` per text: the first pass over the texts (words not seen before in
    this process), then all passes; and which heavy modules the process has imported."""
    cpu_ms: list[float] = []
    for _ in range(passes):
        for text in texts:
            began = time.process_time_ns()
            score(text)
            cpu_ms.append((time.process_time_ns() - began) / 1e6)
    first_pass = cpu_ms[: len(texts)]
    return {
        "passes": passes,
        "first_pass_cpu_ms_p50": round(statistics.median(first_pass), 4),
        "first_pass_cpu_ms_p95": round(percentile(first_pass, 0.95), 4),
        "cpu_ms_p50": round(statistics.median(cpu_ms), 4),
        "cpu_ms_p95": round(percentile(cpu_ms, 0.95), 4),
        "cpu_ms_max": round(max(cpu_ms), 4),
        "heavy_modules_imported": sorted(
            m for m in ("sklearn", "scipy", "numpy", "joblib") if m in sys.modules
        ),
    }


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    if args.child:
        sys.stdout.write(json.dumps(child(args.cache, args.passes)) + "\n")
        return 0
    from bot.routing.classifier import load_or_train
    from bot.routing.routes import load_routes

    load_or_train(load_routes(ROOT / "routes"), args.cache)  # trains once, then a no-op load
    sys.stdout.write(json.dumps(in_child("scripts.classifier_figures", args)) + "\n")
    return 0


def in_child(module: str, args: argparse.Namespace) -> dict[str, object]:
    """`module --child` in a fresh interpreter: its JSON line."""
    command = [sys.executable, "-m", module, "--child"]
    command += ["--cache", str(args.cache), "--passes", str(args.passes)]
    result = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "figures-cache")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(main())
