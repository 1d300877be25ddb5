"""A fake web for the tools: a SearXNG instance and web pages over loopback HTTP.

Used by end-to-end tests and the "try it" sandbox::

    fake = FakeWeb()
    base = await fake.start()  # tools.web_search.searxng_url = base
    fake.script_search("weather", [{"url": f"{base}/pages/forecast", "title": "Forecast"}])
    fake.add_page("forecast", "<html>...</html>")
    ...
    await fake.stop()
"""

from bot.sandbox.web.control import FakeWebControl
from bot.sandbox.web.script import FakeWebError
from bot.sandbox.web.server import FakeWeb

__all__ = ["FakeWeb", "FakeWebControl", "FakeWebError"]
