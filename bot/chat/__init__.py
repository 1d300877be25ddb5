"""One conversational turn end to end: inputs, context assembly, token budget, the turn itself."""
