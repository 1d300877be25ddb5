"""`python -m bot routes eval` on the held-out sets (never used for training or calibration):
the interface, and the local stage's targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.routing.evaluate import read_examples
from bot.textclass.evaluation import EvalDataError, guess_language

PROJECT_ROOT = Path(__file__).parents[2]
HELD_OUT = sorted((PROJECT_ROOT / "tests" / "data").glob("routes_holdout*.jsonl"))
ROUTES = ("chat", "code")


def test_local_only_eval_meets_the_targets_on_messages_never_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the classifier cache goes to ./data/cache
    data = tmp_path / "all.jsonl"
    data.write_text("".join(p.read_text(encoding="utf-8") for p in HELD_OUT), encoding="utf-8")
    missing_config = str(tmp_path / "none.toml")
    arguments = ["routes", "eval", "--config", missing_config, "--data", str(data)]
    assert main([*arguments, "--local-only", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"accuracy", "macro_f1", "per_route", "stages", "local_decided_accuracy"} <= set(result)
    assert result["n"] >= 1000
    assert result["accuracy"] >= 0.90
    assert result["stages"]["local"] >= 0.75
    assert result["local_decided_accuracy"] >= 0.95
    languages = result["per_language"]
    assert abs(languages["en"]["accuracy"] - languages["ru"]["accuracy"]) <= 0.03
    assert set(result["latency_ms"]) == {"p50", "p95"}


def test_bad_eval_data_is_reported_with_the_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "route": "chat"}\n{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"bad\.jsonl:2: expected a JSON object"):
        read_examples(data, ROUTES)
    data.write_text('{"text": "hi", "route": "poetry"}\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match="unknown route 'poetry'"):
        read_examples(data, ROUTES)


def test_examples_keep_language_and_previous_route(tmp_path: Path) -> None:
    data = tmp_path / "ok.jsonl"
    data.write_text(
        '{"text": "а на питоне?", "route": "code", "previous": "code", "extra": 1}\n'
        '{"text": "hello", "route": "chat", "lang": "en"}\n',
        encoding="utf-8",
    )
    first, second = read_examples(data, ROUTES)
    assert (first.language, first.previous) == ("ru", "code")
    assert (second.language, second.previous) == ("en", None)
    assert guess_language("git push не работает") == "ru"
    assert guess_language("ModuleNotFoundError: requests") == "en"


def test_f1_scores_are_scikit_learns() -> None:
    import random
    import statistics

    from sklearn.metrics import f1_score

    from bot.textclass.evaluation import f1_scores

    rng = random.Random(1)
    labels = ["a", "b", "c", "d"]  # "d" is never true: its F1 is 0 when it is predicted
    for _ in range(100):
        truth = [rng.choice(labels[:3]) for _ in range(rng.randint(1, 30))]
        predicted = [rng.choice(labels) for _ in truth]
        ours = f1_scores(truth, predicted, labels)
        theirs = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
        assert ours == pytest.approx(list(theirs), abs=1e-12)
        macro = f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        assert statistics.fmean(ours) == pytest.approx(macro, abs=1e-12)
