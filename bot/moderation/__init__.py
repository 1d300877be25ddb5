"""The content filter: answers (and, if configured, questions) in filtered chats are checked
against topics the operator keeps out, by a local classifier and an LLM judge for the rest."""
