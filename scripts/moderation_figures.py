"""What the content filter's classifier costs: `python -m scripts.moderation_figures`.

Trains the classifier for the shipped topic and route files into a cache folder if it is not
there yet (the wall time of that training is reported), then, in a fresh process, loads it
from that cache the way the bot does and reports: the resident memory (VmRSS) the load adds,
the time the load takes, which heavy modules got imported, and the CPU time of one `score()`
call (p50/p95 over the texts of tests/data/moderation_eval.jsonl: the first pass, then all
passes). Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from scripts.classifier_figures import arguments, cpu_figures, in_child, rss_kib

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "moderation_eval.jsonl"


def texts() -> list[str]:
    lines = EVAL.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


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
    return {
        "texts": len(checked),
        "load_seconds": round(load_seconds, 4),
        "rss_added_mib": round((loaded - before) / 1024, 1),
        **cpu_figures(classifier.score, checked, passes),
        "rss_added_after_scoring_mib": round((rss_kib() - before) / 1024, 1),
        "thresholds": [classifier.thresholds.allow_below, classifier.thresholds.block_from],
    }


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    if args.child:
        sys.stdout.write(json.dumps(child(args.cache, args.passes)) + "\n")
        return 0
    from bot.moderation.config import ModerationConfig
    from bot.moderation.setup import prepare

    started = time.perf_counter()
    prepare(ModerationConfig(cache_dir=args.cache), ROOT / "routes")  # trains once, then loads
    prepared_seconds = time.perf_counter() - started
    figures = in_child("scripts.moderation_figures", args)
    figures["prepare_seconds"] = round(prepared_seconds, 2)  # training, if it was not cached
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
