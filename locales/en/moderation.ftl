# The content filter (docs/moderation.md)
moderation-refusal = 🛡 I can't discuss this topic in this chat.
moderation-file-error = ⚠️ A topic file of the content filter has an error; the previous topics stay in service: { $error }
moderation-off = The content filter is off in this bot.
moderation-header = 🛡 Latest blocks of the content filter (topics: { $topics }), newest first:
moderation-none = No blocks yet.
moderation-line = { $time } · chat { $chat } · { $subject } · { $topic } (stage { $stage }, score { $score }) · route { $route } · model { $model }
moderation-subject-answer = answer
moderation-subject-question = question
settings-summary-filter = 🛡 Content filter: on in this chat (set by the bot's operator)
