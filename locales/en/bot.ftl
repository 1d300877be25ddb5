## Greeting, help and conversation control

start-greeting =
    Hello, { $name }! I am a chat bot that talks to several language models.
    Just write to me. I remember the conversation until you start a new one with /reset.
    Current model: { $model }. Change it with /setmodel.
help-text =
    Write a message and I will answer.
    /reset or /new: start a new conversation (I forget the previous one)
    /retry: answer your last message again
    /stop: stop the answer I am writing
    /setmodel: choose the language model for this chat
    /getmodel: show the current model
    /setcharacter, /character: choose who I am (a persona), or see the current one
    /settings: temperature, top_p, answer length, model footer, routing
    /setsystem, /getsystem, /resetsystem: this chat's own instructions for the model
    /language: the language I use with you
    /history: the current conversation as a file
    /tools: turn tools on or off (web search, web pages, calculator, time, images)
    /limits: what is left of your limits; /subscribe: plans paid with Telegram Stars; /subinfo: your plan
    /paysupport, /terms: help with payments, terms of purchase
    /privacy: what I store
    /help: this help
    I pick instructions for each message by its topic (code, maths, translation, writing…); start a message with #code, #math, #translate, #writing, #image, #search or #chat to choose yourself.
    Send a photo, an album or a document (PDF, Word, text, code) with a question in the caption; without one I summarise it. A document stays in the conversation for follow-up questions until /reset.
    In groups I answer when mentioned, replied to, or called by the short name set with /setshortname.
help-voice = Send a voice message, an audio file or a video note: I transcribe it, show you the transcript and answer it as if you had typed it.
reset-done = Started a new conversation. The previous messages are forgotten.

## Models

model-current = Current model: { $model }.
model-choose = Choose the model for this chat. Current: { $model }.
model-set = Model switched to { $model }.
model-unknown = That model is no longer available. Choose another one with /setmodel.
model-auto-name = Auto (the best model for each message)
model-auto-button = 🧭 Auto: the best model for each message

## Answers and errors

answer-thinking = ✍️ Thinking…
answer-stopped = ⏹ Stopped.
answer-footer = Model: { $model }
answer-footer-routed = Model: { $model } · route: { $route }
button-stop = ⏹ Stop
stop-done = Stopping the answer.
stop-nothing = There is no answer being written right now.
retry-nothing = There is nothing to answer again yet: ask me something first.
answer-empty = The model returned an empty answer. Please try again.
answer-truncated = ✂️ The answer reached the length limit for this model. Ask me to continue if you need more.
answer-interrupted = ⚠️ The answer was cut off: { $reason }
error-timeout = The model did not answer in time. Please try again in a moment.
error-rate-limited = The model is busy right now (rate limit). Please try again in a minute.
error-unavailable = The model is temporarily unavailable. Please try again later.
error-connection = I could not reach the model. Please try again later.
error-auth = The bot cannot access this model (the operator's key was refused). Try another model with /setmodel.
error-rejected = The model refused the request. Try rephrasing it or start a new conversation with /reset.
error-interrupted = The model stopped sending the answer.
error-too-long = Your message is too long for this model's context window ({ $limit } tokens). Please shorten it or choose a model with a larger context via /setmodel.
error-internal = Something went wrong on my side. Please try again.
unsupported-message = I can read text messages, voice messages, photos, albums and documents (PDF, Word, text and code files).

## Command menu

command-start = Start the bot
command-help = What I can do
command-reset = Start a new conversation
command-new = Start a new conversation
command-retry = Answer the last message again
command-stop = Stop the answer being written
command-setmodel = Choose the model
command-getmodel = Show the current model
command-setcharacter = Choose a character
command-character = Show the current character

## Photos

photo-default-question = Describe this picture.
photo-too-large = This photo is too large for me. Please send a smaller one.
photo-unreadable = I could not read this picture. Please send it again as a photo (JPEG, PNG, GIF or WebP).
image-too-many-pixels = This picture is too large to open safely (over { $limit } megapixels). Please send a smaller one.
photo-needs-vision = { $model } cannot see pictures. Models that can: { $models }. Choose one below (Auto picks one by itself for each message).
photo-needs-vision-no-auto = { $model } cannot see pictures. Models that can: { $models }. Choose one below.
photo-no-vision-model = { $model } cannot see pictures, and none of the models here can. Please describe the picture in words.

## Operators

operators-only = This command is for the bot's operators.
route-off = Intent routing is turned off in this bot's configuration.
route-usage = Send /route followed by a message, for example: /route how do I reverse a list in Python
route-explain = Route: { $route } (decided by { $stage }, { $ms } ms)
route-explain-score = • { $route }: { $confidence } (threshold { $threshold })
route-explain-judge = Judge { $model }: { $ms } ms, { $outcome }
route-explain-model = Model for this chat: { $model }
route-stage-rule = an explicit #tag
route-stage-local = the local classifier
route-stage-prior = the previous message's route
route-stage-judge = the LLM judge
route-stage-default = the default (nobody was sure)

## Characters

character-choose = Choose who I am in this chat (a new conversation starts). Now: { $current }.
character-none-name = no character
character-none-button = No character
character-none-available = No characters are available in this bot.
character-current-none = No character is chosen. Pick one with /setcharacter.
character-current = Character: { $name }. { $description }
character-cleared = Character removed. A new conversation has started.
character-unknown = That character is no longer available. Choose another one with /setcharacter.
character-set = Character: { $name }. A new conversation has started.
character-retired = The character of this chat ({ $id }) was removed by the bot's operator, so I answer as myself now. Pick another one with /setcharacter.
character-file-error = ⚠️ A character file has an error; its previous version (if any) stays in service: { $error }

## Characters: operators

character-admin-list = Characters in service:
character-admin-broken = ⚠️ { $file }: { $error }
character-admin-file = The file { $id }.md as it is on disk.
character-admin-bad-id = "{ $id }" is not a character id: use lowercase letters, digits, "_" or "-" (at most 40).
character-admin-unknown = There is no character "{ $id }". /characters lists them.
character-admin-exists = The character "{ $id }" already exists; change it with /character_edit { $id }.
character-admin-empty = The prompt is empty; nothing was changed.
character-admin-send-prompt = Send the new prompt of "{ $id }" as your next message (/cancel to stop).
character-admin-preview =
    New prompt of "{ $id }":

    { $prompt }
character-admin-confirm = ✅ Save
character-admin-cancel = ✖️ Cancel
character-admin-cancelled = Nothing was changed.
character-admin-saved = Saved "{ $id }" as revision { $revision }; it is in service now.
character-admin-invalid = Not saved, the file would be invalid: { $error }
character-admin-history = Revisions of "{ $id }":
character-admin-history-line = #{ $revision } { $action } by { $author }, { $when }
character-admin-no-history = "{ $id }" has no revisions made from Telegram.
character-admin-no-revision = "{ $id }" has no revision { $revision }.
character-admin-revert-usage = Usage: /character_revert <id> <revision>; /character_history <id> lists the revisions (0 is the file before the first one).
character-admin-reverted = "{ $id }" is back to revision { $revision } (recorded as revision { $new }).

## Documents

document-default-question = Summarise this document: what it is, its main points, and anything that needs attention.
document-reading = 📄 Reading page { $page } of { $pages }…
document-truncated = 📄 { $name } is longer than this model can read at once: I read about { $percent }% of it. Ask about a specific part, or choose a model with a larger context via /setmodel.
document-pages-capped = 📄 { $name }: I read the first { $read } of { $total } pages.
file-unsupported = I cannot read { $name }. I read PDF, Word (.docx), text and code files, and pictures.
file-too-large = This file is too large: I can read files of up to { $limit } MB.
file-pdf-encrypted = { $name } is protected with a password, so I cannot read it. Please send a copy without the password.
file-pdf-truncated = { $name } seems incomplete (the upload was cut off). Please send it again.
file-pdf-corrupt = I could not read { $name }: the PDF is damaged or uses features I cannot open. Try saving it again as PDF, or send the text.
file-binary = { $name } is not a text file. I read PDF, Word (.docx), text and code files.
file-empty = { $name } is empty.
file-unreadable = I could not open { $name }. Please check the file and send it again.

answer-writing = ✍️ Writing… ({ $words } words)
