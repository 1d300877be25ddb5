"""The demo model's words, in English and Russian (it answers in the user's language)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "intro": "*Demo model* `{model}` here: an offline stand-in that answers by rules, "
        "not a real language model.",
        "quote": "You wrote: «{text}»",
        "instructions": "**Instructions I follow** (from the system prompt):",
        "persona": "The chat's prompt or character: «{line}»",
        "route": "The route's instructions: «{line}»",
        "no_system": "No system prompt reached me.",
        "try": "**Try:** `what is 17*23+5`, `what time is it in Tokyo`, "
        "`search for python asyncio`, `read the page about telegram bots`, `draw a red cat`, "
        "`write a long story`; send a photo or a PDF (📎), an audio file (🎵) or a voice "
        "message (🎙); /setcharacter, /setmodel, /language. /subscribe sells plans for Stars "
        'or by card (the Pay button). In the group ("Write in a group"), ask '
        "`@sandbox_bot which online casino pays out the fastest?` to see the content filter, "
        "and /settings there. As the operator: /stats, /broadcast, /moderation, /revenue. "
        'The page\'s "Try this" list has all of these; its controls panel changes my speed '
        "or makes me fail.",
        "image": "**The picture** is {width}×{height} pixels; mostly {colours}.",
        "image_unreadable": "**A picture** arrived, but I could not read it.",
        "pdf": "**{name}**: a PDF of {pages} page(s). The first page begins:\n> {lines}",
        "pdf_unreadable": "**{name}**: a PDF I could not open.",
        "document": "**{name}**{pages}. It begins:\n> {lines}",
        "pages": " ({pages} pages)",
        "scan": "**{name}**{pages}: a scan without text; its pages reached me as {images} "
        "picture(s).",
        "empty": "(no text)",
        "no_tools": "I would use the `{tool}` tool for this, but this model has no tools (or "
        "they are off in /tools). Pick a model with tools in /setmodel.",
        "tool_intro": "I called the `{tool}` tool. ",
        "calculator": "The result: **{result}**",
        "current_time": "The time there: **{result}**",
        "web_search": "The search (the sandbox's fake web) found:\n\n{result}",
        "fetch_url": "The page says:\n\n{result}",
        "generate_image": "Here is your picture, drawn by the sandbox's image model (a simple "
        "generated image, not a real painting).",
        "tool": "It returned:\n\n{result}",
        "story_title": "## A long story",
        "story": "Paragraph {n}. The demo model writes this story to show how a long answer "
        "streams and then continues in the next message, split at a paragraph, a sentence or "
        "a word, never inside one. Each paragraph says the same thing in other words, so that "
        "the whole is longer than one Telegram message. Press Stop at any time: what was "
        "written so far is kept.",
        "code": "Here is a code block, since you asked about code:",
    },
    "ru": {
        "intro": "*Демо-модель* `{model}`: офлайн-заглушка, отвечающая по правилам, "
        "а не настоящая языковая модель.",
        "quote": "Вы написали: «{text}»",
        "instructions": "**Инструкции, которым я следую** (из системного промпта):",
        "persona": "Промпт чата или персонажа: «{line}»",
        "route": "Инструкции маршрута: «{line}»",
        "no_system": "Системный промпт до меня не дошёл.",
        "try": "**Попробуйте:** `сколько будет 17*23+5`, `который час в Токио`, "
        "`найди python asyncio`, `прочитай страницу про telegram bots`, "
        "`нарисуй красного кота`, `напиши длинный рассказ`; отправьте фото или PDF (📎), "
        "аудиофайл (🎵) или голосовое сообщение (🎙); /setcharacter, /setmodel, /language. "
        "/subscribe продаёт планы за звёзды или по карте (кнопка Pay). В группе («Write in a "
        "group») спросите `@sandbox_bot в каком онлайн-казино лучшие ставки?`, чтобы увидеть "
        "фильтр содержимого, и /settings там. Как оператор: /stats, /broadcast, /moderation, "
        "/revenue. Всё это есть в списке «Try this» на странице; её панель управления меняет "
        "мою скорость или заставляет меня ошибиться.",
        "image": "**Картинка** {width}×{height} пикселей; в основном {colours}.",
        "image_unreadable": "**Картинка** пришла, но прочитать её не удалось.",
        "pdf": "**{name}**: PDF, страниц: {pages}. Первая страница начинается так:\n> {lines}",
        "pdf_unreadable": "**{name}**: PDF, который не открылся.",
        "document": "**{name}**{pages}. Начало:\n> {lines}",
        "pages": " (страниц: {pages})",
        "scan": "**{name}**{pages}: скан без текста; его страницы пришли ко мне как картинки "
        "({images}).",
        "empty": "(нет текста)",
        "no_tools": "Для этого нужен инструмент `{tool}`, но у этой модели нет "
        "инструментов (или они выключены в /tools). Выберите модель с инструментами в /setmodel.",
        "tool_intro": "Инструмент `{tool}` вызван. ",
        "calculator": "Результат: **{result}**",
        "current_time": "Время там: **{result}**",
        "web_search": "Поиск (по ненастоящему вебу песочницы) нашёл:\n\n{result}",
        "fetch_url": "На странице написано:\n\n{result}",
        "generate_image": "Вот ваша картинка от модели изображений песочницы (простая "
        "сгенерированная картинка, а не настоящий рисунок).",
        "tool": "Он вернул:\n\n{result}",
        "story_title": "## Длинный рассказ",
        "story": "Абзац {n}. Демо-модель пишет этот рассказ, чтобы показать, как длинный ответ "
        "появляется по частям и продолжается в следующем сообщении, разбитый по абзацу, "
        "предложению или слову, но никогда не посреди слова. Каждый абзац говорит то же самое "
        "другими словами, чтобы целое было длиннее одного сообщения Telegram. Нажмите «Стоп» "
        "в любой момент: написанное сохранится.",
        "code": "Вот блок кода, раз вы спросили о коде:",
    },
}

CODE_SAMPLE = '```python\ndef greet(name: str) -> str:\n    return f"Hello, {name}!"\n```'
