"""What a turn is asked to answer, independent of Telegram."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class UserInput:
    chat_id: int
    user_id: int
    text: str
    message_id: int | None = None
    update_ids: tuple[int, ...] = field(default=())

    def merged_with(self, other: UserInput) -> UserInput:
        """A paste that Telegram split into several messages becomes one input again."""
        return replace(
            self, text=f"{self.text}\n{other.text}", update_ids=self.update_ids + other.update_ids
        )
