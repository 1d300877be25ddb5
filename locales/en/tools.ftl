## Tools: what models may call, the /tools switch, the status while tools run

command-tools = turn tools (web search, images…) on or off
tools-on = 🧰 Tools are on in this chat: the model may use { $tools }.
tools-off = 🧰 Tools are off in this chat: the model answers from what it knows.
tools-none-configured = 🧰 This bot has no tools set up.
tools-model-cannot = The current model, { $model }, cannot use tools; choose one that can with /setmodel.
tools-auto = On Auto, tools are used by the models that support them.
tools-button-off = Turn tools off
tools-button-on = Turn tools on
tools-saved = Saved.

tool-name-web_search = 🔎 web search
tool-name-fetch_url = 🌐 reading web pages
tool-name-calculator = 🧮 a calculator
tool-name-current_time = 🕒 the current time
tool-name-generate_image = 🎨 image generation

tool-status-web-search = 🔎 Searching the web…
tool-status-fetch-url = 🌐 Reading the page…
tool-status-calculator = 🧮 Calculating…
tool-status-current-time = 🕒 Checking the time…
tool-status-generate-image = 🎨 Drawing the picture…
tool-status-other = 🧰 Using a tool…
answer-pictures-only = 🎨 Here is the picture.

## Tools of MCP servers (the operator's own: a wiki, a database, a ticket system…)

tool-status-mcp = 🔌 Asking { $server }…
tools-mcp-header = Tools of the bot's servers:
tools-mcp-server = 🔌 { $server }: { $description } — { $tools }
tools-mcp-server-plain = 🔌 { $server }: { $tools }
tools-mcp-unavailable = 🔌 { $server }: not available right now
mcp-server-down = 🔌 The MCP server { $server } is not available: { $problem }. Its tools are withdrawn from new answers; the bot keeps trying to reach it and will say when it is back.
mcp-server-back = 🔌 The MCP server { $server } is back with { $tools } tools.
mcp-reload-failed = 🔌 The configuration was not reloaded (the MCP servers keep running as they were): { $error }
