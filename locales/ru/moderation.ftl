# Фильтр содержания (docs/moderation.md)
moderation-refusal = 🛡 Эту тему я не могу обсуждать в этом чате.
moderation-file-error = ⚠️ В файле темы фильтра содержания ошибка; прежние темы продолжают работать: { $error }
moderation-off = Фильтр содержания в этом боте выключен.
moderation-header = 🛡 Последние блокировки фильтра содержания (темы: { $topics }), сначала новые:
moderation-none = Блокировок пока не было.
moderation-line = { $time } · чат { $chat } · { $subject } · { $topic } (этап { $stage }, оценка { $score }) · маршрут { $route } · модель { $model }
moderation-subject-answer = ответ
moderation-subject-question = вопрос
settings-summary-filter = 🛡 Фильтр содержания: включён в этом чате (настраивает оператор бота)
