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
    /settings: temperature, top_p, answer length, model footer
    /setsystem, /getsystem, /resetsystem: this chat's own instructions for the model
    /language: the language I use with you
    /history: the current conversation as a file
    /privacy: what I store
    /help: this help
    In groups I answer when mentioned, replied to, or called by the short name set with /setshortname.
reset-done = Started a new conversation. The previous messages are forgotten.

## Models

model-current = Current model: { $model }.
model-choose = Choose the model for this chat. Current: { $model }.
model-set = Model switched to { $model }.
model-unknown = That model is no longer available. Choose another one with /setmodel.

## Answers and errors

answer-thinking = ✍️ Thinking…
answer-stopped = ⏹ Stopped.
answer-footer = Model: { $model }
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
unsupported-message = I can only read text messages for now.

## Command menu

command-start = Start the bot
command-help = What I can do
command-reset = Start a new conversation
command-new = Start a new conversation
command-retry = Answer the last message again
command-stop = Stop the answer being written
command-setmodel = Choose the model
command-getmodel = Show the current model
