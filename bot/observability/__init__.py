"""Operating the bot from outside: Prometheus metrics, health and readiness, JSON logs.

`metrics` holds the metric objects and the one-line hooks the hot path calls; `telegram`
counts Bot API calls (a session middleware); `llm` times model streams (a ChatModel
wrapper); `server` serves /metrics, /healthz and /readyz; `logjson` is the JSON formatter.
"""
