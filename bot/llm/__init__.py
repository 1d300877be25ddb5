"""Language models: neutral request/event types, capabilities, providers and the registry."""
