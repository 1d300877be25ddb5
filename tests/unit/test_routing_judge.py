"""The judge through the real SDKs against the scripted LLM server: OpenAI-compatible servers
(vLLM included) get `response_format: json_schema`; Anthropic gets `output_config.format`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.llm.base import ProviderClient
from bot.llm.providers.anthropic import AnthropicClient
from bot.llm.providers.openai_compat import OpenAICompatibleClient
from bot.llm.resilient import ResilientModel
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.routing.judge import LLMJudge
from bot.routing.routes import RouteBook, load_routes
from bot.sandbox.llm import ScriptedLLM

ROUTES = Path(__file__).parents[2] / "routes"


@pytest.fixture
async def llm() -> AsyncIterator[ScriptedLLM]:
    server = ScriptedLLM()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def book() -> RouteBook:
    return load_routes(ROUTES)


def judge(book: RouteBook, provider: ProviderClient, remote: str) -> LLMJudge:
    caps = ModelCapabilities(False, False, True, False, 8000, 100)
    spec = ModelSpec("judge", "Judge", "p", remote, caps)
    return LLMJudge(ResilientModel(spec, provider, max_retries=0, backoff=0), book, timeout=5)


async def test_openai_protocol_judge_asks_for_a_json_schema_and_reads_the_route(
    llm: ScriptedLLM, book: RouteBook
) -> None:
    client = OpenAICompatibleClient(
        base_url=f"{llm.base_url}/v1", api_key="k", connect_timeout=2, read_timeout=5
    )
    llm.script('{"route": "code"}', model="judge-oa")
    verdict = await judge(book, client, "judge-oa").judge("fix my regex please")
    await client.close()
    assert (verdict.route, verdict.failure) == ("code", None)
    [request] = llm.requests
    response_format = request["body"]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    routes = response_format["json_schema"]["schema"]["properties"]["route"]["enum"]
    assert routes == [*book.ids, "unsure"]
    assert request["body"]["temperature"] == 0.0


async def test_anthropic_judge_uses_native_structured_output_without_sampling_parameters(
    llm: ScriptedLLM, book: RouteBook
) -> None:
    client = AnthropicClient(base_url=llm.base_url, api_key="k", connect_timeout=2, read_timeout=5)
    llm.script('{"route": "math"}', model="judge-an")
    verdict = await judge(book, client, "judge-an").judge("integral of x squared")
    await client.close()
    assert verdict.route == "math"
    [request] = llm.requests
    output_format = request["body"]["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert output_format["schema"]["properties"]["route"]["enum"][-1] == "unsure"
    # API version 2026-10-21 answers 400 to any sampling parameter, even the judge's 0.
    assert "temperature" not in request["body"]


async def test_a_server_error_is_no_verdict(llm: ScriptedLLM, book: RouteBook) -> None:
    client = OpenAICompatibleClient(
        base_url=f"{llm.base_url}/v1", api_key="k", connect_timeout=2, read_timeout=5
    )
    llm.add_fault("status", status=503, model="judge-oa")
    verdict = await judge(book, client, "judge-oa").judge("hello")
    await client.close()
    assert (verdict.route, verdict.failure) == (None, "error")
