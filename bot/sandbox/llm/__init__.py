"""A scripted fake LLM server speaking the OpenAI and Anthropic protocols over loopback HTTP.

Used by end-to-end tests and the "try it" sandbox::

    llm = ScriptedLLM()
    base = await llm.start()  # OpenAI SDK: base_url=f"{base}/v1"; Anthropic SDK: base_url=base
    llm.script("Hello!", match="hi")
    ...
    await llm.stop()
"""

from bot.sandbox.llm.control import LLMControl
from bot.sandbox.llm.plan import default_reply
from bot.sandbox.llm.script import ScriptError
from bot.sandbox.llm.server import ScriptedLLM

__all__ = ["LLMControl", "ScriptError", "ScriptedLLM", "default_reply"]
