# syntax=docker/dockerfile:1
#
# The bot as a container image.
#
#   docker build -t polyglot-bot .
#   docker run --env-file .env -v ./config.toml:/app/config.toml:ro -v bot-data:/app/data polyglot-bot
#
# Working directory /app: config.toml is read from /app/config.toml (or $BOT_CONFIG), and the
# default SQLite database lands in /app/data, which is a volume. Port 8080 is the default
# webhook port (not needed in polling mode).
#
# The image includes the `postgres` extra (asyncpg), so BOT_STORAGE__URL may name PostgreSQL.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app

# Dependencies first, so that code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra postgres --no-install-project

# The project itself. README.md is needed to build it (pyproject.toml names it as the readme).
# The install stays editable (uv's default): the bot finds locales/, routes/, characters/ and
# the content filter's example topics (moderation/) next to bot/ in /app (the migrations are
# in bot/storage/migrations/). A test (tests/e2e/test_image_layout.py) installs just what these
# COPY lines name and runs check-config and a sandbox turn there (with the filter on in its
# group), so a file the bot reads cannot be left out.
COPY README.md config.example.toml ./
COPY bot/ ./bot/
COPY locales/ ./locales/
COPY routes/ ./routes/
COPY characters/ ./characters/
COPY moderation/ ./moderation/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra postgres

# Run as an unprivileged user. Only data/ (the database, the classifier's cache) and
# sandbox-data/ (used by `sandbox`, and by `run` when TELEGRAM_BOT_TOKEN is missing) are
# writable by it; characters/ too, for operators who edit characters from Telegram.
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data /app/sandbox-data \
    && chown bot:bot /app/data /app/sandbox-data /app/characters
USER bot

VOLUME /app/data
EXPOSE 8080

ENTRYPOINT ["/app/.venv/bin/python", "-m", "bot"]
CMD ["run"]
