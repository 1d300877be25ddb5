"""Operating the bot from outside: Prometheus metrics, health and readiness.

`metrics` holds the metric objects and the one-line hooks the hot path calls; `telegram`
counts Bot API calls (a session middleware); `llm` times model streams (a ChatModel
wrapper); `server` serves /metrics, /healthz and /readyz. JSON log lines are `bot.logs`'s.
"""
