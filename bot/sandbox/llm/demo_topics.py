"""The demo model and the content filter: an answer the filter has something to block, and the
filter's LLM judge answered by keywords.

The sandbox turns the filter on in the page's group with the shipped example topics
(``moderation/``). Asked about gambling, the demo model answers the way an unfiltered model
might (betting tips, in the words of the topic file's examples), so the group sees the hidden
placeholder and then the refusal, every time; in a private chat the answer arrives, with a
note that the group would not see it. The judge (a request whose schema offers the topic ids,
``none`` and ``unsure``) names the first topic whose words the text contains, else ``none``.
"""

from __future__ import annotations

from collections.abc import Sequence

CLEAN = "none"  # bot.moderation.topics.CLEAN
UNSURE = "unsure"  # bot.moderation.judge.UNSURE

TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "gambling": (
        "casino", "betting", "bet on", "bookmaker", "bookie", "odds", "roulette", "poker",
        "slot machine", "jackpot", "lottery", "казино", "ставк", "букмекер", "рулетк",
        "покер", "игровые автоматы", "джекпот", "лотере",
    ),
    "drugs": (
        "cannabis", "weed", "marijuana", "cocaine", "mdma", "ecstasy", " lsd", "heroin",
        "psilocybin", "magic mushroom", "наркот", "марихуан", "травк", "кокаин", "экстази",
        "героин", "грибы",
    ),
}  # fmt: skip

# What an unfiltered model might answer about gambling: sentences like the topic file's own
# examples, so the filter's local stage blocks them without asking the judge.
GAMBLING_ANSWER = {
    "en": (
        "**Betting tips**, as a model without a filter might give them:\n\n"
        "Put a small stake on the underdog; the bookmaker's odds of 4.5 are generous for this "
        "match. Split your bankroll into 50 units and never bet more than two units on one "
        "game. To claim the free spins, register at the online casino and enter the bonus code "
        "at your first deposit. For live betting, wait until the first goal, when the odds on "
        "the favourite drift. The jackpot on the slot machine grows until someone hits five "
        "sevens on a payline."
    ),
    "ru": (
        "**Советы по ставкам**, какие могла бы дать модель без фильтра:\n\n"
        "Поставьте немного на андердога: коэффициент букмекера 4,5 на этот матч щедрый. "
        "Разделите банк на 50 частей и не ставьте больше двух частей на одну игру. Чтобы "
        "получить бесплатные вращения, зарегистрируйтесь в онлайн-казино и введите бонус-код "
        "при первом депозите. В лайв-ставках дождитесь первого гола, когда коэффициент на "
        "фаворита вырастет. Джекпот игрового автомата растёт, пока кто-нибудь не соберёт пять "
        "семёрок на линии."
    ),
}
FILTER_NOTE = {
    "en": "_In the page's group (\"Write in a group\") the sandbox's content filter keeps "
    "answers like this one out: ask there to see it._",
    "ru": "_В группе страницы («Write in a group») фильтр содержимого песочницы не пропускает "
    "такие ответы: спросите там, чтобы увидеть._",
}


def topic_of(text: str, topics: Sequence[str] = tuple(TOPIC_WORDS)) -> str | None:
    """The first of `topics` whose words `text` contains."""
    lowered = f" {text.casefold()}"
    for topic in topics:
        if any(word in lowered for word in TOPIC_WORDS.get(topic, ())):
            return topic
    return None


def is_topic_judge(values: Sequence[str]) -> bool:
    """The content filter's judge offers the topic ids, ``none`` and ``unsure``."""
    return CLEAN in values and UNSURE in values


def judge_topic(text: str, values: Sequence[str]) -> str:
    return topic_of(text, [v for v in values if v not in (CLEAN, UNSURE)]) or CLEAN


def topic_answer(text: str, language: str) -> str | None:
    """The demo model's answer on a kept-out topic it plays along with (gambling only)."""
    if topic_of(text) != "gambling":
        return None
    return f"{GAMBLING_ANSWER[language]}\n\n{FILTER_NOTE[language]}"
