"""What the content filter's classifier costs: `python -m scripts.moderation_figures`.

Trains the classifier for the shipped topic and route files into a cache folder if it is not
there yet (the wall time of that training is reported), then, in a fresh process, loads it
from that cache the way the bot does and reports: the resident memory (VmRSS) the load adds,
the time the load takes, which heavy modules got imported, and the CPU time of one `score()`
call (p50/p95 over the texts of tests/data/moderation_eval.jsonl: the first pass, then all
passes). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "moderation_eval.jsonl"


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def texts() -> list[str]:
    lines = EVAL.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def child(cache: Path, passes: int) -> dict[str, object]:
    """Runs in a fresh interpreter: what the bot's start and its checks pay."""
    from bot.moderation.classifier import load_or_build
    from bot.moderation.config import ModerationConfig
    from bot.moderation.corpus import neutral_texts
    from bot.moderation.topics import load_topics

    config = ModerationConfig()
    book = load_topics(config.topics_dir)
    neutral = neutral_texts(ROOT / "routes")
    checked = texts()
    targets = (config.miss_target, config.false_block_target)
    before = rss_kib()
    started = time.perf_counter()
    classifier = load_or_build(book, neutral, targets, cache)
    load_seconds = time.perf_counter() - started
    loaded = rss_kib()
    cpu_ms: list[float] = []
    for _ in range(passes):
        for text in checked:
            began = time.process_time_ns()
            classifier.score(text)
            cpu_ms.append((time.process_time_ns() - began) / 1e6)
    first_pass = cpu_ms[: len(checked)]
    heavy = sorted(m for m in ("sklearn", "scipy", "numpy", "joblib") if m in sys.modules)
    return {
        "texts": len(checked),
        "passes": passes,
        "load_seconds": round(load_seconds, 4),
        "rss_added_mib": round((loaded - before) / 1024, 1),
        "rss_added_after_scoring_mib": round((rss_kib() - before) / 1024, 1),
        "first_pass_cpu_ms_p50": round(statistics.median(first_pass), 4),
        "first_pass_cpu_ms_p95": round(percentile(first_pass, 0.95), 4),
        "cpu_ms_p50": round(statistics.median(cpu_ms), 4),
        "cpu_ms_p95": round(percentile(cpu_ms, 0.95), 4),
        "cpu_ms_max": round(max(cpu_ms), 4),
        "heavy_modules_imported": heavy,
        "thresholds": [classifier.thresholds.allow_below, classifier.thresholds.block_from],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "figures-cache")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(child(args.cache, args.passes)) + "\n")
        return 0
    from bot.moderation.config import ModerationConfig
    from bot.moderation.setup import prepare

    config = ModerationConfig(cache_dir=args.cache)
    started = time.perf_counter()
    prepare(config, ROOT / "routes")  # trains once, then a no-op load
    prepared_seconds = time.perf_counter() - started
    command = [sys.executable, "-m", "scripts.moderation_figures", "--child"]
    command += ["--cache", str(args.cache), "--passes", str(args.passes)]
    result = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    figures = json.loads(result.stdout)
    figures["prepare_seconds"] = round(prepared_seconds, 2)  # training, if it was not cached
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
