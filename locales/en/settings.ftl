## Language (the name of this locale, in its own language)

language-name = English
language-choose = Choose the interface language.
language-set = Done! I will speak { $language } with you.
language-unknown = That language is not available.

## /settings

settings-summary =
    Settings of this chat (model: { $model })
    🌡 Temperature: { $temperature }
    🎯 Top-p: { $top_p }
    📏 Answer length limit, tokens: { $max_tokens } (model maximum: { $model_limit })
    🏷 Model name under answers: { $footer }
settings-hint = Press a button to change a setting. "default" means the model's own default.
settings-name-temperature = Temperature
settings-name-top-p = Top-p
settings-name-max-tokens = Answer length
settings-name-footer = Model name under answers
settings-name-routing = Routing by topic
settings-summary-routing = 🧭 Routing by topic: { $routing }
settings-choose-temperature =
    Temperature: lower is more focused and predictable, higher is more varied and creative.
    Current: { $current }
settings-choose-top-p =
    Top-p: the model picks words only from the most likely ones that add up to this share. Lower is more focused.
    Current: { $current }
settings-choose-max-tokens =
    The longest answer, in tokens (about ¾ of a word each). This model allows up to { $model_limit }.
    Current: { $current }
settings-default = default
settings-default-button = Default
settings-back = ⬅️ Back
settings-on = on
settings-off = off
settings-saved = Saved for this chat.
settings-invalid = That value is not allowed for this setting.

## System prompt

system-prompt-send-next = Send the new system prompt for this chat as your next message (or /cancel).
system-prompt-set = The system prompt of this chat is updated. It applies from your next message.
system-prompt-too-long = That prompt is too long: at most { $limit } characters. Please shorten it and try /setsystem again.
system-prompt-empty = The system prompt cannot be empty.
system-prompt-current =
    The system prompt of this chat:

    { $prompt }
system-prompt-default = This chat uses the default system prompt. Set your own with /setsystem.
system-prompt-reset = The system prompt of this chat is reset to the default.
system-prompt-cancelled = Cancelled. The system prompt is unchanged.
cancel-nothing = There is nothing to cancel.

## /history

history-heading = Conversation in { $chat }, started { $date }
history-private-chat = a private chat
history-you = You
history-assistant = Assistant
history-interrupted = interrupted
history-picture = [a picture{ $size }]
history-document = [a file: { $name }]
history-tool-call = Called the tool { $name }: { $arguments }
history-tool-result = { $name } returned:
history-tool-error = { $name } failed:
history-caption =
    { $count ->
        [one] The current conversation: { $count } message.
       *[other] The current conversation: { $count } messages.
    }
history-empty = Nothing here yet: the current conversation has no messages.

## /privacy

privacy-text =
    🔒 What this bot stores

    • The messages of this chat's conversations with the bot and the answers, including earlier conversations.
    • Pictures and files you send, and the text read from documents (pictures without their metadata, such as location).
    • The settings of this chat (model, system prompt, temperature and so on) and your interface language.
    • Your Telegram user id, name and username, and the chat's id and title.
    • Ratings you give to answers.
    • How many answers you received recently (for usage limits), your plans and payments (amounts, Telegram's payment ids, dates); card or account details never reach the bot.

    Where: in the database of the bot's operator (the person or organisation running this bot). To answer, your messages and the conversation so far are sent to the provider of the chosen language model. When the bot is unsure what a message is about, the message alone is also sent to a model that sorts messages by topic; the topic chosen is stored with it.

    /reset starts a new conversation: the model no longer sees the old one, but the old conversations stay stored.

    To have your data deleted, contact the bot's operator and give your Telegram user id: { $user_id }.

## Unknown commands

unknown-command = I do not know the command { $command }. See /help for what I can do.

## Feedback on answers

feedback-like-button = 👍
feedback-dislike-button = 👎
feedback-thanks = { $vote } Thanks for the feedback!
feedback-changed = Your rating is changed to { $vote }.
feedback-unchanged = You already rated this answer { $vote }.
feedback-unknown = This answer can no longer be rated.

## Groups

admin-only = Only the group's administrators can change its settings.
shortname-groups-only = A short name is only needed in groups: here I answer every message.
shortname-current = In this group I also answer messages that start with my short name: { $name }.
shortname-none = This group has no short name for me yet.
shortname-usage = Set one with /setshortname name (letters, digits, _ or -, 2 to 32 characters); /setshortname - removes it.
shortname-set = Done: messages that start with { $name } are for me now.
shortname-cleared = The short name is removed.
shortname-invalid = A short name has 2 to 32 letters, digits, _ or -, and starts with a letter or digit.

## Command menu

command-settings = Temperature, answer length and more
command-setsystem = Set this chat's system prompt
command-getsystem = Show this chat's system prompt
command-resetsystem = Go back to the default system prompt
command-language = Change the interface language
command-history = Download the conversation as a file
command-privacy = What the bot stores about you
command-setshortname = Set the group's short name for the bot
