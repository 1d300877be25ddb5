# Restarts, crashes and updates the bot could not use.

# Sent when the bot is shutting down before an answer is complete; the answer follows after the restart.
answer-restarting = ⏳ I'm restarting right now. I'll finish this answer as soon as I'm back; there is no need to ask again.
# Under an answer given again after the bot restarted while answering.
answer-resumed = I restarted while answering; this is the complete answer.
# The bot restarted and the question is too old to answer now. $time: when it was asked (HH:MM UTC).
answer-lost = ⚠️ I restarted and could not answer your message from { $time } in time. Please send it again.
# A message the bot cannot use at all (only spaces or invisible characters, say).
message-unreadable = I could not read that message. Please write your question in words.
# A photo or file that Telegram would not let the bot download (gone, expired).
file-download-failed = I could not download that file from Telegram. Please send it again.
