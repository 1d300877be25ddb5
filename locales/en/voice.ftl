# Voice messages, audio files and video notes (docs/voice.md)
voice-transcript = 🎙 Transcript:
voice-no-model = I cannot listen to voice messages in this bot: no speech recognition is set up. Please type your message.
voice-too-long = This recording is too long for me: I listen to at most { $minutes } min. Please send a shorter one or type your message.
voice-too-large = This recording is larger than { $limit } MB, more than I can download. Please send a shorter one.
voice-unsupported-format = I cannot read this recording's format. Voice messages, video notes and audio files in OGG, MP3, M4A, WAV, FLAC or WebM work.
voice-failed = Speech recognition is not available right now, so I could not listen to this recording. Please try again later or type your message.
voice-empty = I could not make out any words in this recording.
limit-reached-audio = You have used your { $minutes } min of voice messages on the { $plan } plan. More frees up { $when }.
limit-audio-not-included = Voice messages this long are not included in the { $plan } plan (up to { $minutes } min).
limits-audio = Voice messages: { $left } of { $limit } min (per { $hours } h)
