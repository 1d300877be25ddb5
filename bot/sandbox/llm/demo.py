"""The demo model: a deterministic, offline stand-in that behaves like an assistant.

`make run` without a token answers with it, so every feature of the bot shows by typing: it
streams at a realistic pace (the runner sets the knobs), answers in the user's language
(Cyrillic in, Russian out), calls the real tools when a message asks for a calculation, the
time somewhere, a search, a web page or a picture, describes pictures and documents from what
it received, quotes the instructions it got (the character's and the route's), and says that
it is a demo. The end-to-end tests keep the exact scripted mode (no demo model).

Blocking (image and PDF decoding): call :meth:`DemoModel.reply` in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.sandbox.llm.demo_request import (
    Attachment,
    Conversation,
    read_request,
    schema_enum,
    to_json,
)
from bot.sandbox.llm.demo_senses import describe_image, read_pdf
from bot.sandbox.llm.demo_texts import CODE_SAMPLE, TEXTS
from bot.sandbox.llm.demo_topics import is_topic_judge, judge_topic, topic_answer
from bot.sandbox.llm.script import ReplyEntry, ToolCall

QUOTE_CHARS = 160
RESULT_CHARS = 900
STORY_PARAGRAPHS = 12
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_EXPRESSION = re.compile(r"(?:sqrt|√)?\s*[(\d][\d\s.,()+\-*/^×÷%!]*[\d)!]")
_OPERATOR = re.compile(r"\d\s*[-+*/^×÷%]\s*[(\d]|sqrt|√|\d!")
_IMAGE = re.compile(r"\b(draw|paint|sketch|picture of|image of)\b|нарису|картинк|изобрази", re.I)
_SEARCH = re.compile(r"\b(search|look up|google|find)\b|найди|поищи|загугли|поиск", re.I)
_READ = re.compile(
    r"\b(read|open|fetch|summari[sz]e)\b.*\b(page|article|site|link|result)\b|"
    r"(прочитай|открой|прочти|перескажи).*(страниц|стать|сайт|ссылк|результат)",
    re.I,
)
_ABOUT = re.compile(r"\b(?:about|on)\s+(.+)$|\bпро\s+(.+)$|\bо\s+(.+)$", re.I)
_TIME = re.compile(r"\btime\b|\bвремя\b|который час|сколько времени", re.I)
_LONG = re.compile(r"\blong\b|\bstory\b|длинн|рассказ", re.I)
_CODE = re.compile(r"\bcode\b|\bpython\b|\bfunction\b|код|функци", re.I)
_TRIGGER_WORDS = re.compile(
    r"^\s*(please\s+)?(search( the web)?( for)?|look up|google|find|draw|paint|sketch|"
    r"найди|поищи|загугли|нарисуй|изобрази)\s*",
    re.I,
)
ZONES = {
    "tokyo": "Asia/Tokyo", "токио": "Asia/Tokyo", "london": "Europe/London",
    "лондон": "Europe/London", "new york": "America/New_York", "нью-йорк": "America/New_York",
    "moscow": "Europe/Moscow", "москв": "Europe/Moscow", "paris": "Europe/Paris",
    "париж": "Europe/Paris", "berlin": "Europe/Berlin", "берлин": "Europe/Berlin",
    "sydney": "Australia/Sydney", "сидне": "Australia/Sydney", "los angeles": "America/Los_Angeles",
    "лос-анджелес": "America/Los_Angeles", "beijing": "Asia/Shanghai", "пекин": "Asia/Shanghai",
    "delhi": "Asia/Kolkata", "дели": "Asia/Kolkata", "dubai": "Asia/Dubai", "дубай": "Asia/Dubai",
}  # fmt: skip
ROUTE_WORDS = {
    "code": ("code", "python", "function", "bug", "код", "функци"),
    "math": ("calculate", "equation", "integral", "посчитай", "уравнен"),
    "translate": ("translate", "переведи"),
    "image": ("draw", "picture", "нарисуй", "картинк"),
    "search": ("search", "news", "найди", "новост"),
    "writing": ("write", "story", "poem", "напиши", "рассказ", "стих"),
}


def language_of(text: str) -> str:
    return "ru" if _CYRILLIC.search(text) else "en"


class DemoModel:
    """Answers a chat request (the JSON body, either protocol) with a reply entry."""

    def __init__(self, web_url: str | None = None) -> None:
        self._web_url = web_url

    @staticmethod
    def structured(body: Mapping[str, Any]) -> bool:
        """A request for JSON by a schema (the routing judge), which scripts never answer."""
        return "response_format" in body or "output_config" in body

    def reply(self, body: Mapping[str, Any], model: str) -> ReplyEntry:
        conv = read_request(body)
        if conv.schema is not None:
            return ReplyEntry(text=_structured(conv))
        language = language_of(conv.user_text or conv.history_text)
        t = TEXTS[language]
        if conv.tool_results:
            return ReplyEntry(text=_from_results(conv, t))
        wanted = self._wanted_tool(conv)
        if wanted is not None:
            name, arguments = wanted
            if name not in conv.tools:
                return ReplyEntry(text=t["no_tools"].format(tool=name))
            if conv.may_call_tools:
                return ReplyEntry(tool_calls=(ToolCall(name, to_json(arguments)),))
            # tool_choice "none": the tool budget is spent, answer in words
        return ReplyEntry(text=_answer(conv, model, t))

    def _wanted_tool(self, conv: Conversation) -> tuple[str, dict[str, str]] | None:
        text = conv.user_text
        if not text:
            return None
        if _IMAGE.search(text):
            return "generate_image", {"prompt": _TRIGGER_WORDS.sub("", text) or text}
        url = _URL.search(text)
        if url is not None:
            return "fetch_url", {"url": url.group(0).rstrip(".,;:!?")}
        if _READ.search(text):
            return "fetch_url", {"url": self._page_url(text, conv.history_text)}
        if _SEARCH.search(text):
            return "web_search", {"query": _TRIGGER_WORDS.sub("", text).strip(" ?.!") or text}
        if _TIME.search(text):
            lowered = text.casefold()
            zone = next((z for k, z in ZONES.items() if k in lowered), "UTC")
            return "current_time", {"timezone": zone}
        expression = _expression(text)
        if expression is not None:
            return "calculator", {"expression": expression}
        return None

    def _page_url(self, text: str, history: str) -> str:
        about = _ABOUT.search(text)
        if about is None or self._web_url is None:
            seen = _URL.findall(history)
            if seen:
                return str(seen[0]).rstrip(".,;:!?")
        topic = next((g for g in about.groups() if g), "") if about else "telegram bots"
        slug = re.sub(r"[^a-z0-9]+", "-", topic.casefold()).strip("-") or "sandbox"
        return f"{self._web_url or 'http://127.0.0.1'}/pages/{slug}"


def _expression(text: str) -> str | None:
    for match in _EXPRESSION.finditer(text):
        candidate = match.group(0).strip().rstrip("?.,")
        if _OPERATOR.search(candidate):
            return candidate.replace(",", ".") if candidate.count(",") == 1 else candidate
    return None


def _structured(conv: Conversation) -> str:
    """JSON for a schema: for the routing judge a route named by a keyword, else 'chat'; for
    the content filter's judge a topic named by a keyword, else 'none'."""
    assert conv.schema is not None
    found = schema_enum(conv.schema)
    if found is None:
        return "{}"
    key, values = found
    if is_topic_judge(values):  # the content filter's judge
        return to_json({key: judge_topic(conv.user_text, values)})
    lowered = conv.user_text.casefold()
    for route, words in ROUTE_WORDS.items():
        if route in values and any(w in lowered for w in words):
            return to_json({key: route})
    default = "chat" if "chat" in values else values[0]
    return to_json({key: default})


def _from_results(conv: Conversation, t: Mapping[str, str]) -> str:
    parts = []
    for name, result in conv.tool_results:
        excerpt = result.strip()
        if len(excerpt) > RESULT_CHARS:
            excerpt = excerpt[:RESULT_CHARS].rsplit(" ", 1)[0] + " …"
        body = t.get(name, t["tool"]) if name in TEXTS["en"] else t["tool"]
        parts.append(t["tool_intro"].format(tool=name) + body.format(result=excerpt))
    return "\n\n".join(parts)


def _answer(conv: Conversation, model: str, t: Mapping[str, str]) -> str:
    parts = [t["intro"].format(model=model)]
    quote = " ".join(conv.user_text.split())
    if quote:
        if len(quote) > QUOTE_CHARS:
            quote = quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
        parts.append(t["quote"].format(text=quote))
    parts += [_attachment(a, t) for a in conv.attachments]
    parts.append(_instructions(conv.system, t))
    on_topic = topic_answer(conv.user_text, "ru" if t is TEXTS["ru"] else "en")
    if on_topic is not None:
        parts.append(on_topic)
    if _CODE.search(conv.user_text):
        parts.append(f"{t['code']}\n\n{CODE_SAMPLE}")
    if _LONG.search(conv.user_text):
        story = [t["story"].format(n=n) for n in range(1, STORY_PARAGRAPHS + 1)]
        parts.append("\n\n".join([t["story_title"], *story]))
    elif on_topic is None and (
        conv.answers == 0
        or not conv.user_text
        or conv.user_text.strip().lower() in ("hi", "hello", "help", "привет", "помощь")
    ):
        parts.append(t["try"])
    return "\n\n".join(parts)


def _first_line(paragraph: str) -> str:
    line = next((s.strip() for s in paragraph.splitlines() if s.strip()), "")
    return line if len(line) <= QUOTE_CHARS else line[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"


def _instructions(system: str, t: Mapping[str, str]) -> str:
    paragraphs = [p for p in system.split("\n\n") if p.strip()]
    lines = [t["instructions"]]
    if not paragraphs:
        lines.append(t["no_system"])
    else:
        lines.append(t["persona"].format(line=_first_line(paragraphs[0])))
        if len(paragraphs) > 1:
            lines.append(t["route"].format(line=_first_line(paragraphs[-1])))
    return "\n".join(lines)


def _attachment(attachment: Attachment, t: Mapping[str, str]) -> str:
    language = "ru" if t is TEXTS["ru"] else "en"
    if attachment.kind == "image":
        seen = describe_image(attachment.data, language)
        if seen is None:
            return t["image_unreadable"]
        width, height, colours = seen
        named = ", ".join(f"{name} ({share}%)" for name, share in colours)
        return t["image"].format(width=width, height=height, colours=named)
    if attachment.kind == "pdf":
        read = read_pdf(attachment.data)
        if read is None:
            return t["pdf_unreadable"].format(name=attachment.name)
        count, text = read
        return t["pdf"].format(name=attachment.name, pages=count, lines=_lines(text, t))
    pages = t["pages"].format(pages=attachment.pages) if attachment.pages else ""
    if attachment.scanned and not attachment.text.strip():
        return t["scan"].format(name=attachment.name, pages=pages, images=attachment.scanned)
    return t["document"].format(name=attachment.name, pages=pages, lines=_lines(attachment.text, t))


def _lines(text: str, t: Mapping[str, str]) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()][:3]
    shown = [line if len(line) <= 120 else line[:120] + " …" for line in lines]
    return "\n> ".join(shown) or t["empty"]
