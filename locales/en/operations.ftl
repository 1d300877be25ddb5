## Operating the bot: /stats, /broadcast, /unsubscribe

command-unsubscribe = Stop receiving announcements
command-stats = Statistics (operators)
command-broadcast = Message every user (operators)
command-revenue = Revenue (operators)

stats-usage = Send /stats for the last 30 days, or /stats followed by a number of days (1 to { $max }).
stats-header = 📊 The last { $days } days (UTC; computed in { $ms } ms)
stats-users = 👥 Users: { $total }. New: { $new1 } today, { $new7 } in 7 days, { $new30 } in 30 days. Active: { $active1 } today, { $active7 } in 7 days, { $active30 } in 30 days.
stats-models-header = 🤖 Answers per model (tokens in / out, estimated cost, answer time p50 / p95):
stats-model-line = { $model } ({ $provider }): { $answers ->
        [one] { $answers } answer
       *[other] { $answers } answers
    }, { $tokens_in } / { $tokens_out } tokens, ~{ $cost }, { $latency }
stats-latency = { $p50 } / { $p95 } s
stats-latency-none = no timing
stats-providers-header = 🏢 Per provider:
stats-provider-line = { $provider }: { $answers ->
        [one] { $answers } answer
       *[other] { $answers } answers
    }, { $tokens } tokens, ~{ $cost }
stats-routes = 🧭 Routes: { $routes }
stats-errors = ⚠️ Errors: { $errors }
stats-feedback-models = 👍/👎 per model: { $lines }
stats-feedback-characters = 👍/👎 per character: { $lines }
stats-pictures = 🖼 Pictures: { $received } received, { $generated } generated
stats-none = none
stats-empty = nothing yet
stats-no-character = no character
stats-chart-title = Daily activity, last 30 days (UTC)
stats-chart-questions = questions
stats-chart-answers = answers
stats-chart-users = active users
stats-chart-caption = Questions, answers and active users per day over the last 30 days.

broadcast-send-next = Send the message for every user: text (Markdown works), or a photo with a caption. Lines at the end like [Our site](https://example.com) become buttons. /cancel to stop.
broadcast-too-long = That is too long for one message (4096 characters, or 1024 for a photo's caption). Send a shorter one.
broadcast-empty = There is nothing to send in that message. Send text or a photo.
broadcast-confirm = ☝️ This is how it will look. Send it to { $users } users?
broadcast-send-button = Send
broadcast-cancel-button = Cancel
broadcast-cancelled = The broadcast was cancelled; nothing was sent.
broadcast-not-draft = This broadcast was already sent or cancelled.
broadcast-started = Broadcast { $id }: sending to { $users } users…
broadcast-progress = Sending: { $done } of { $total } (sent { $sent }, blocked { $blocked }, failed { $failed }).
broadcast-report = Broadcast { $id } is done in { $seconds } s: { $sent } sent, { $blocked } blocked the bot (marked inactive), { $failed } failed, of { $total }.
broadcast-crashed = Broadcast { $id } stopped on an error (the bot's log says which). Those it has not reached yet get it when the bot starts again.
broadcast-unsubscribe-button = Unsubscribe from announcements
broadcast-unsubscribed = You will not receive announcements any more. Changed your mind? Press the button.
broadcast-unsubscribed-toast = Done: you will not receive announcements any more. /unsubscribe lets you turn them back on.
broadcast-resubscribe-button = Receive announcements again
broadcast-resubscribed = You will receive announcements again.
