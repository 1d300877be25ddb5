"""Persistence: async SQLAlchemy engine, ORM models, repositories returning DTOs, unit of work."""
