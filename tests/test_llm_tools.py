"""Tool calling on every provider, through the real SDKs against a loopback stub that answers in
each API's real wire format. The SDKs validate nothing, so every test also checks the exact
request JSON the stub received: tools, tool_use / tool_calls turns, results and their ids."""

import json
import logging

import pytest
from pydantic import ValidationError

from haymaker.llm import (
    AssistantMessage,
    LLMMessage,
    LLMRequestError,
    LLMUsage,
    MeteredClient,
    Provider,
    StopReason,
    ToolCall,
    ToolResult,
    ToolSpec,
    UserMessage,
    create_llm_client,
    dump_transcript,
    load_transcript,
)
from tests.support.llm_replies import (
    anthropic_message,
    chat_completion,
    function_call,
    text_block,
    tool_use_block,
)
from tests.support.llm_stub import STUB_KEY, LLMStub, Reply, stub_config

WEATHER = ToolSpec(
    name="get_weather",
    description="The current weather in a city",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
CLOCK = ToolSpec(name="get_time")  # no description, no arguments

OPENAI_STYLE = [Provider.OPENAI, Provider.AZURE_OPENAI, Provider.AZURE_AI_FOUNDRY]
CHAT_PATH = {
    Provider.OPENAI: "/v1/chat/completions",
    Provider.AZURE_OPENAI: "/openai/deployments/my-deployment/chat/completions",
    Provider.AZURE_AI_FOUNDRY: "/openai/v1/chat/completions",
}


@pytest.fixture
def stub():
    server = LLMStub().start()
    yield server
    server.stop()


def script(stub: LLMStub, *bodies: dict) -> None:
    stub.script.extend(Reply(body=body) for body in bodies)


def client_for(stub: LLMStub, provider: Provider, **fields) -> MeteredClient:
    return MeteredClient(create_llm_client(stub_config(stub, provider, **fields)))


# -- Anthropic -----------------------------------------------------------------------------


async def test_anthropic_one_tool_call_and_its_result(stub):
    script(
        stub,
        anthropic_message(
            tool_use_block("toolu_1", "get_weather", {"city": "Paris"}),
            stop_reason="tool_use",
            input_tokens=30,
            output_tokens=8,
        ),
        anthropic_message(text_block("It is 18C in Paris."), input_tokens=50, output_tokens=9),
    )
    client = client_for(stub, Provider.ANTHROPIC)
    conversation = [UserMessage(content="Weather in Paris?")]
    asked = await client.complete(conversation, system="Be brief.", tools=[WEATHER])
    assert asked.stop_reason is StopReason.TOOL_USE
    assert asked.raw_stop_reason == "tool_use"
    assert asked.content == ""
    assert asked.tool_calls == [
        ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"})
    ]
    conversation += [asked.message, asked.tool_calls[0].result("18C")]
    answered = await client.complete(conversation, system="Be brief.", tools=[WEATHER])
    await client.close()

    assert answered.content == "It is 18C in Paris."
    assert answered.stop_reason is StopReason.END_TURN
    assert answered.tool_calls == []
    first, second = stub.requests
    assert first.path == "/v1/messages"
    assert first.body["tools"] == [
        {
            "name": "get_weather",
            "description": "The current weather in a city",
            "input_schema": WEATHER.input_schema,
        }
    ]
    assert "tool_choice" not in first.body
    assert first.body["messages"] == [{"role": "user", "content": "Weather in Paris?"}]
    assert second.body["system"] == "Be brief."
    assert second.body["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}],
        },
    ]
    assert client.usage == LLMUsage(calls=2, input_tokens=80, output_tokens=17)


async def test_anthropic_parallel_calls_answered_in_one_turn_with_an_error(stub):
    script(
        stub,
        anthropic_message(
            text_block("Checking both."),
            tool_use_block("toolu_a", "get_weather", {"city": "Paris"}),
            tool_use_block("toolu_b", "get_weather", {"city": "Atlantis"}),
            tool_use_block("toolu_c", "get_time", {}),
            stop_reason="tool_use",
        ),
        anthropic_message(text_block("Paris is 18C; Atlantis is unknown.")),
    )
    client = client_for(stub, Provider.ANTHROPIC)
    conversation = [UserMessage(content="Weather in Paris and Atlantis, and the time?")]
    asked = await client.complete(conversation, tools=[WEATHER, CLOCK])
    assert asked.content == "Checking both."
    assert [(call.id, call.arguments) for call in asked.tool_calls] == [
        ("toolu_a", {"city": "Paris"}),
        ("toolu_b", {"city": "Atlantis"}),
        ("toolu_c", {}),
    ]
    paris, atlantis, clock = asked.tool_calls
    conversation += [
        asked.message,
        paris.result("18C"),
        atlantis.result("no such city", is_error=True),
        clock.result("12:00"),
    ]
    await client.complete(conversation, tools=[WEATHER, CLOCK])
    await client.close()

    first, second = stub.requests
    assert first.body["tools"][1] == {
        "name": "get_time",
        "input_schema": {"type": "object", "properties": {}},
    }
    assistant, results = second.body["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking both."},
            {
                "type": "tool_use",
                "id": "toolu_a",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {
                "type": "tool_use",
                "id": "toolu_b",
                "name": "get_weather",
                "input": {"city": "Atlantis"},
            },
            {"type": "tool_use", "id": "toolu_c", "name": "get_time", "input": {}},
        ],
    }
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "18C"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_b",
                "content": "no such city",
                "is_error": True,
            },
            {"type": "tool_result", "tool_use_id": "toolu_c", "content": "12:00"},
        ],
    }


async def test_anthropic_counts_cached_input_tokens(stub):
    usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 100,
    }
    script(stub, anthropic_message(text_block("ok"), usage=usage))
    client = client_for(stub, Provider.ANTHROPIC)
    response = await client.complete([UserMessage(content="hi")])
    await client.close()
    assert response.usage == LLMUsage(calls=1, input_tokens=130, output_tokens=5)


# -- OpenAI-style chat (OpenAI, Azure OpenAI, Foundry) ---------------------------------------


@pytest.mark.parametrize("provider", OPENAI_STYLE)
async def test_openai_parallel_calls_and_results_one_message_each(stub, provider):
    script(
        stub,
        chat_completion(
            tool_calls=[
                function_call("call_1", "get_weather", {"city": "Paris"}),
                function_call("call_2", "get_weather", {"city": "Atlantis"}),
            ],
            finish_reason="tool_calls",
            prompt_tokens=30,
            completion_tokens=8,
        ),
        chat_completion("Paris is 18C.", prompt_tokens=50, completion_tokens=9),
    )
    client = client_for(stub, provider)
    conversation = [UserMessage(content="Weather in Paris and Atlantis?")]
    asked = await client.complete(conversation, system="Be brief.", tools=[WEATHER, CLOCK])
    assert asked.stop_reason is StopReason.TOOL_USE
    assert asked.raw_stop_reason == "tool_calls"
    assert asked.tool_calls == [
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_2", name="get_weather", arguments={"city": "Atlantis"}),
    ]
    paris, atlantis = asked.tool_calls
    conversation += [
        asked.message,
        paris.result("18C"),
        atlantis.result("no such city", is_error=True),
    ]
    answered = await client.complete(conversation, system="Be brief.", tools=[WEATHER, CLOCK])
    await client.close()

    assert answered.content == "Paris is 18C."
    assert answered.stop_reason is StopReason.END_TURN
    first, second = stub.requests
    assert first.path == second.path == CHAT_PATH[provider]
    assert first.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The current weather in a city",
                "parameters": WEATHER.input_schema,
            },
        },
        {
            "type": "function",
            "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
        },
    ]
    assert "tool_choice" not in first.body
    assert second.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Atlantis?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Atlantis"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "Error: no such city"},
    ]
    assert client.usage == LLMUsage(calls=2, input_tokens=80, output_tokens=17)


@pytest.mark.parametrize(
    ("sent", "problem"),
    [('{"city": "Par', "not valid JSON"), ('["Paris"]', "JSON but not an object (got list)")],
)
async def test_malformed_arguments_become_an_error_the_model_is_told_about(stub, sent, problem):
    script(
        stub,
        chat_completion(
            tool_calls=[function_call("call_1", "get_weather", sent)], finish_reason="tool_calls"
        ),
        chat_completion("Sorry, retrying."),
    )
    client = client_for(stub, Provider.OPENAI)
    conversation = [UserMessage(content="Weather in Paris?")]
    asked = await client.complete(conversation, tools=[WEATHER])
    (call,) = asked.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {}
    assert problem in call.arguments_error
    assert call.raw_arguments == sent
    conversation += [asked.message, call.result(call.arguments_error, is_error=True)]
    await client.complete(conversation, tools=[WEATHER])
    await client.close()

    assistant, result = stub.requests[1].body["messages"][1:]
    # the model is shown exactly what it sent, and why it did not work
    assert assistant["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": sent}
    assert result == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": f"Error: {call.arguments_error}",
    }


async def test_empty_arguments_mean_none(stub):
    script(
        stub,
        chat_completion(
            tool_calls=[function_call("call_1", "get_time", "")], finish_reason="tool_calls"
        ),
    )
    client = client_for(stub, Provider.OPENAI)
    response = await client.complete([UserMessage(content="Time?")], tools=[CLOCK])
    await client.close()
    assert response.tool_calls == [ToolCall(id="call_1", name="get_time")]


# -- stops and refusals, both providers ------------------------------------------------------


async def test_openai_refusal(stub):
    script(stub, chat_completion(None, refusal="I can't help with that."))
    client = client_for(stub, Provider.OPENAI)
    response = await client.complete([UserMessage(content="Something harmful")], tools=[WEATHER])
    await client.close()
    assert response.stop_reason is StopReason.REFUSAL
    assert response.raw_stop_reason == "stop"
    assert response.refusal == "I can't help with that."
    assert response.content == ""
    assert response.tool_calls == []


async def test_anthropic_refusal(stub):
    details = {"type": "refusal", "category": "cyber", "explanation": "This could enable harm."}
    script(stub, anthropic_message(stop_reason="refusal", stop_details=details))
    client = client_for(stub, Provider.ANTHROPIC)
    response = await client.complete([UserMessage(content="Something harmful")])
    await client.close()
    assert response.stop_reason is StopReason.REFUSAL
    assert response.raw_stop_reason == "refusal"
    assert response.refusal == "This could enable harm."


async def test_a_content_filter_stop_is_a_refusal_without_text(stub):
    script(stub, chat_completion(None, finish_reason="content_filter"))
    client = client_for(stub, Provider.AZURE_OPENAI)
    response = await client.complete([UserMessage(content="Something filtered")])
    await client.close()
    assert response.stop_reason is StopReason.REFUSAL
    assert response.raw_stop_reason == "content_filter"
    assert response.refusal is None


@pytest.mark.parametrize(
    ("provider", "raw", "normalised"),
    [
        (Provider.ANTHROPIC, "max_tokens", StopReason.MAX_TOKENS),
        (Provider.ANTHROPIC, "stop_sequence", StopReason.END_TURN),
        (Provider.ANTHROPIC, "pause_turn", StopReason.OTHER),
        (Provider.OPENAI, "length", StopReason.MAX_TOKENS),
    ],
)
async def test_stop_reasons_are_normalised(stub, provider, raw, normalised):
    if provider is Provider.ANTHROPIC:
        script(stub, anthropic_message(text_block("Once upon"), stop_reason=raw))
    else:
        script(stub, chat_completion("Once upon", finish_reason=raw))
    client = client_for(stub, provider)
    response = await client.complete([UserMessage(content="Tell a story")], max_tokens=3)
    await client.close()
    assert response.stop_reason is normalised
    assert response.raw_stop_reason == raw
    assert response.content == "Once upon"
    assert stub.requests[0].body["max_tokens"] == 3


# -- tool_choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "anthropic", "openai"),
    [
        ("auto", {"type": "auto"}, "auto"),
        ("none", {"type": "none"}, "none"),
        ("required", {"type": "any"}, "required"),
        (
            WEATHER,
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
async def test_tool_choice_on_both_providers(stub, choice, anthropic, openai):
    for provider in (Provider.ANTHROPIC, Provider.OPENAI):
        client = client_for(stub, provider)
        await client.complete(
            [UserMessage(content="hi")], tools=[WEATHER, CLOCK], tool_choice=choice
        )
        await client.close()
    to_anthropic, to_openai = stub.requests
    assert to_anthropic.body["tool_choice"] == anthropic
    assert to_openai.body["tool_choice"] == openai


@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OPENAI])
@pytest.mark.parametrize(
    ("tools", "choice", "problem"),
    [
        ((), "auto", "tool_choice needs tools"),
        ((CLOCK,), WEATHER, "'get_weather', which is not among the tools"),
        ((CLOCK, CLOCK), None, "two tools have the same name"),
    ],
)
async def test_meaningless_tool_settings_are_refused_before_sending(
    stub, provider, tools, choice, problem
):
    client = client_for(stub, provider)
    with pytest.raises(ValueError, match=problem):
        await client.complete([UserMessage(content="hi")], tools=tools, tool_choice=choice)
    await client.close()
    assert stub.requests == []


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "get weather"},
        {"name": "x" * 65},
        {"name": "t", "input_schema": {"type": "string"}},
        {"name": "t", "input_schema": {"properties": {}}},
    ],
)
def test_tool_specs_both_providers_accept(fields):
    with pytest.raises(ValidationError):
        ToolSpec(**fields)


# -- the original plain call ---------------------------------------------------------------


@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OPENAI])
async def test_plain_calls_send_what_they_always_did(stub, provider):
    client = client_for(stub, provider)
    history = [
        LLMMessage(role="user", content="hello"),
        LLMMessage(role="assistant", content="Hi."),
        UserMessage(content="again"),
    ]
    response = await client.complete(history, max_tokens=20)
    await client.close()
    assert response.content
    assert response.stop_reason is StopReason.END_TURN
    (request,) = stub.requests
    assert "tools" not in request.body
    assert "tool_choice" not in request.body
    assert request.body["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "again"},
    ]


async def test_the_meter_passes_tool_options_only_when_given():
    class PlainClient:
        """A client written before tools existed (a test double, say)."""

        async def complete(self, messages, *, system=None, max_tokens=None):
            from haymaker.llm import LLMResponse

            return LLMResponse(content="ok", usage=LLMUsage(calls=1, input_tokens=3))

        async def close(self):
            pass

    metered = MeteredClient(PlainClient())
    await metered.complete([UserMessage(content="hi")])
    await metered.complete([UserMessage(content="hi")], max_tokens=5)
    assert metered.usage == LLMUsage(calls=2, input_tokens=6)


# -- transcripts: record with one provider, replay to the other ------------------------------


async def record_weather_conversation(stub: LLMStub, provider: Provider, calls, final) -> list:
    """Runs user → tool calls → results (Atlantis fails) → final answer; the transcript."""
    script(stub, calls, final)
    client = client_for(stub, provider)
    conversation = [UserMessage(content="Weather in Paris and Atlantis?")]
    asked = await client.complete(conversation, tools=[WEATHER])
    results = [
        call.result("18C")
        if call.arguments.get("city") == "Paris"
        else call.result("no such city", is_error=True)
        for call in asked.tool_calls
    ]
    conversation += [asked.message, *results]
    answered = await client.complete(conversation, tools=[WEATHER])
    await client.close()
    return [*conversation, answered.message]


async def test_a_transcript_recorded_with_anthropic_replays_to_openai(stub):
    recorded = await record_weather_conversation(
        stub,
        Provider.ANTHROPIC,
        anthropic_message(
            text_block("Checking."),
            tool_use_block("toolu_a", "get_weather", {"city": "Paris"}),
            tool_use_block("toolu_b", "get_weather", {"city": "Atlantis"}),
            stop_reason="tool_use",
        ),
        anthropic_message(text_block("Paris: 18C. Atlantis: unknown.")),
    )
    stored = json.dumps(dump_transcript(recorded))
    replayed = [*load_transcript(stored), UserMessage(content="And in Rome?")]
    client = client_for(stub, Provider.OPENAI)
    await client.complete(replayed, tools=[WEATHER])
    await client.close()

    assert stub.requests[-1].body["messages"] == [
        {"role": "user", "content": "Weather in Paris and Atlantis?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "toolu_b",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Atlantis"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_a", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_b", "content": "Error: no such city"},
        {"role": "assistant", "content": "Paris: 18C. Atlantis: unknown."},
        {"role": "user", "content": "And in Rome?"},
    ]


async def test_a_transcript_recorded_with_openai_replays_to_anthropic(stub):
    recorded = await record_weather_conversation(
        stub,
        Provider.AZURE_OPENAI,
        chat_completion(
            tool_calls=[
                function_call("call_1", "get_weather", {"city": "Paris"}),
                # some OpenAI-compatible servers use ids Anthropic would refuse
                function_call("functions.get_weather:1", "get_weather", {"city": "Atlantis"}),
            ],
            finish_reason="tool_calls",
        ),
        chat_completion("Paris: 18C. Atlantis: unknown."),
    )
    stored = json.dumps(dump_transcript(recorded))
    replayed = [*load_transcript(stored), UserMessage(content="And in Rome?")]
    client = client_for(stub, Provider.ANTHROPIC)
    await client.complete(replayed, tools=[WEATHER])
    await client.close()

    assert stub.requests[-1].body["messages"] == [
        {"role": "user", "content": "Weather in Paris and Atlantis?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "functions_get_weather_1",
                    "name": "get_weather",
                    "input": {"city": "Atlantis"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "functions_get_weather_1",
                    "content": "no such city",
                    "is_error": True,
                },
            ],
        },
        {"role": "assistant", "content": "Paris: 18C. Atlantis: unknown."},
        {"role": "user", "content": "And in Rome?"},
    ]


def test_the_transcript_shape():
    call = ToolCall(id="c1", name="get_weather", arguments={"city": "Paris"})
    broken = ToolCall(id="c2", name="get_weather", arguments_error="not JSON", raw_arguments="{")
    conversation = [
        LLMMessage(role="user", content="Weather?"),
        AssistantMessage(content="Checking.", tool_calls=[call, broken]),
        call.result("18C"),
        broken.result("not JSON", is_error=True),
    ]
    assert dump_transcript(conversation) == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}},
                {
                    "id": "c2",
                    "name": "get_weather",
                    "arguments": {},
                    "arguments_error": "not JSON",
                    "raw_arguments": "{",
                },
            ],
        },
        {"role": "tool", "call_id": "c1", "content": "18C", "is_error": False},
        {"role": "tool", "call_id": "c2", "content": "not JSON", "is_error": True},
    ]
    loaded = load_transcript(dump_transcript(conversation))
    assert loaded == [UserMessage(content="Weather?"), *conversation[1:]]
    assert isinstance(loaded[2], ToolResult)


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OPENAI, Provider.AZURE_OPENAI])
async def test_the_key_never_shows_on_the_tool_paths(stub, provider, caplog):
    anthropic = provider is Provider.ANTHROPIC
    script(
        stub,
        anthropic_message(
            tool_use_block("toolu_1", "get_weather", {"city": "Paris"}), stop_reason="tool_use"
        )
        if anthropic
        else chat_completion(
            tool_calls=[function_call("call_1", "get_weather", '{"city": ')],
            finish_reason="tool_calls",
        ),
    )
    stub.script.append(Reply(status=400))
    client = client_for(stub, provider, max_retries=0)
    with caplog.at_level(logging.DEBUG):
        asked = await client.complete([UserMessage(content="Weather?")], tools=[WEATHER])
        conversation = [UserMessage(content="Weather?"), asked.message]
        conversation.append(asked.tool_calls[0].result("18C"))
        with pytest.raises(LLMRequestError) as raised:
            await client.complete(conversation, tools=[WEATHER])
        logging.getLogger("test").info("%r %s %r", client, asked, raised.value)
    await client.close()

    assert any(record.name.split(".")[0] in ("anthropic", "openai") for record in caplog.records)
    for text in (caplog.text, str(raised.value), repr(asked), repr(client), repr(client._client)):
        assert STUB_KEY not in text
