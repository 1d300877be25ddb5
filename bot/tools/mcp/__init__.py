"""Tools from MCP servers (the Model Context Protocol).

Only `config` is imported when the configuration is read; the SDK (`mcp`, over a second to
import) is imported by `hub` when at least one server is configured.
"""
