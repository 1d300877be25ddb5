"""Voice messages, audio files and video notes: checked, transcribed, then answered as text."""
