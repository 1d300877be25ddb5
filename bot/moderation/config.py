"""`[moderation]` in config.toml: the content filter (docs/moderation.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bot.config_sections import StrictModel

SHIPPED_TOPICS_DIR = Path(__file__).resolve().parent.parent.parent / "moderation"


class ModerationConfig(StrictModel):
    enabled: bool = False
    # The topic files; default: the examples in the moderation/ folder shipped with the bot.
    topics_dir: Path = SHIPPED_TOPICS_DIR
    cache_dir: Path = Path("data/cache")  # the trained classifier
    watch: bool = True  # topic files are picked up without a restart
    # Where answers are checked: every group, the groups in `chats`, or none; and private chats.
    groups: Literal["all", "chosen", "none"] = "all"
    chats: list[int] = Field(default_factory=list)
    private: bool = False
    # Check the user's message too, before the model is asked.
    check_questions: bool = False
    judge: bool = True
    judge_model: str | None = None  # default: routing's judge, else the cheapest model
    judge_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    # "block": the judge is told to flag a text that could reasonably be read as on a topic,
    # and its "unsure" blocks; "balanced": it flags clear cases, "unsure" goes by the local score.
    bias: Literal["block", "balanced"] = "block"
    # When the judge times out, fails or is off: block (fail closed) or let the text through.
    on_judge_failure: Literal["block", "allow"] = "block"
    # Calibration targets of the local stage (upper bounds, 90% confidence): the share of texts
    # on a topic among those it lets through, and of clean texts among those it blocks.
    miss_target: float = Field(default=0.02, gt=0, lt=0.5)
    false_block_target: float = Field(default=0.15, gt=0, lt=0.5)
    # The refusal shown instead of a blocked answer, per locale; default: the shipped text.
    refusal: dict[str, str] = Field(default_factory=dict)
