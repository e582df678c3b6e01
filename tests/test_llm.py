"""The LLM layer: settings, and every provider through its real SDK against a loopback stub."""

import logging

import pytest

from haymaker.llm import (
    LLMConfig,
    LLMConfigError,
    LLMMessage,
    LLMRequestError,
    LLMServerError,
    LLMTimeout,
    MeteredClient,
    Provider,
    create_llm_client,
)
from haymaker.llm.config import DEFAULT_MODELS
from haymaker.llm.openai_client import entra_token_provider
from tests.support.llm_stub import STUB_KEY, LLMStub, Reply, stub_config

SECRET = STUB_KEY


@pytest.fixture
def stub():
    server = LLMStub().start()
    yield server
    server.stop()


def ask(text: str = "hello") -> list[LLMMessage]:
    return [LLMMessage(role="user", content=text)]


# -- settings ------------------------------------------------------------------------------


def test_anthropic_settings():
    config = LLMConfig.from_env(
        {"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_MODEL": "claude-x"}
    )
    assert config.provider is Provider.ANTHROPIC
    assert config.model == "claude-x"
    assert config.timeout == 120
    assert config.max_retries == 3
    assert config.api_key.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("environ", "model"),
    [
        ({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "k"}, "claude-sonnet-5-5"),
        ({"ANTHROPIC_API_KEY": "k"}, "claude-sonnet-5-5"),
        ({"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "k"}, "gpt-4.1"),
        ({"OPENAI_API_KEY": "k"}, "gpt-4.1"),
        (
            {"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "k", "ANTHROPIC_MODEL": "claude-x"},
            "claude-x",
        ),
        ({"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "k", "OPENAI_MODEL": "gpt-y"}, "gpt-y"),
    ],
)
def test_a_key_alone_is_enough_the_model_has_a_default(environ, model):
    assert LLMConfig.from_env(environ).model == model


def test_the_default_models_are_ones_the_sdks_know():
    from typing import get_args

    from anthropic.types import Model
    from openai.types import ChatModel

    assert DEFAULT_MODELS[Provider.ANTHROPIC] in get_args(get_args(Model)[0])
    assert DEFAULT_MODELS[Provider.OPENAI] in get_args(ChatModel)
    assert set(DEFAULT_MODELS) == {Provider.ANTHROPIC, Provider.OPENAI}


def test_foundry_takes_the_endpoint_under_either_name():
    seeds_name = {"AZURE_AI_ENDPOINT": "https://x.services.ai.azure.com"}
    config = LLMConfig.from_env({**seeds_name, "AZURE_AI_FOUNDRY_MODEL": "m"})
    assert config.provider is Provider.AZURE_AI_FOUNDRY
    assert config.endpoint == "https://x.services.ai.azure.com"
    both = {
        **seeds_name,
        "AZURE_AI_FOUNDRY_ENDPOINT": "https://y.services.ai.azure.com",
        "AZURE_AI_FOUNDRY_MODEL": "m",
    }
    assert LLMConfig.from_env(both).endpoint == "https://y.services.ai.azure.com"
    with pytest.raises(LLMConfigError, match="AZURE_AI_ENDPOINT"):
        LLMConfig.from_env(
            {"AZURE_AI_ENDPOINT": "http://x.example.com", "AZURE_AI_FOUNDRY_MODEL": "m"}
        )


def test_provider_is_inferred_when_only_one_is_configured():
    config = LLMConfig.from_env(
        {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt"}
    )
    assert config.provider is Provider.AZURE_OPENAI
    assert config.api_key is None  # Entra ID
    assert config.api_version == "2024-10-21"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "LLM_PROVIDER"),
        ({"LLM_PROVIDER": "bard"}, "LLM_PROVIDER"),
        ({"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}, "LLM_PROVIDER"),
        ({"LLM_PROVIDER": "anthropic", "ANTHROPIC_MODEL": "m"}, "ANTHROPIC_API_KEY"),
        ({"LLM_PROVIDER": "openai"}, "OPENAI_API_KEY"),
        ({"LLM_PROVIDER": "azure_openai", "AZURE_OPENAI_DEPLOYMENT": "d"}, "AZURE_OPENAI_ENDPOINT"),
        (
            {"LLM_PROVIDER": "azure_openai", "AZURE_OPENAI_ENDPOINT": "https://x"},
            "AZURE_OPENAI_DEPLOYMENT",
        ),
        (
            {
                "LLM_PROVIDER": "azure_openai",
                "AZURE_OPENAI_ENDPOINT": "http://x.example.com",
                "AZURE_OPENAI_DEPLOYMENT": "d",
            },
            "AZURE_OPENAI_ENDPOINT",
        ),
        (
            {"LLM_PROVIDER": "azure_ai_foundry", "AZURE_AI_FOUNDRY_ENDPOINT": "https://x"},
            "AZURE_AI_FOUNDRY_MODEL",
        ),
        (
            {
                "LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "@Microsoft.KeyVault(VaultName=v;SecretName=s)",
                "ANTHROPIC_MODEL": "m",
            },
            "ANTHROPIC_API_KEY",
        ),
        (
            {
                "LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "k",
                "ANTHROPIC_MODEL": "m",
                "LLM_TIMEOUT_SECONDS": "-1",
            },
            "LLM_TIMEOUT_SECONDS",
        ),
        (
            {
                "LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "k",
                "ANTHROPIC_MODEL": "m",
                "LLM_MAX_RETRIES": "many",
            },
            "LLM_MAX_RETRIES",
        ),
        (
            {
                "LLM_PROVIDER": "openai",
                "OPENAI_API_KEY": "k",
                "OPENAI_MODEL": "m",
                "OPENAI_BASE_URL": "ftp://x",
            },
            "OPENAI_BASE_URL",
        ),
    ],
)
def test_missing_or_contradictory_settings_name_the_variable(environ, named):
    with pytest.raises(LLMConfigError, match=named) as raised:
        LLMConfig.from_env(environ)
    assert raised.value.variable == named


@pytest.mark.parametrize(
    ("environ", "advice"),
    [
        ({}, "set LLM_PROVIDER (anthropic, azure_openai, azure_ai_foundry, openai)"),
        ({"LLM_PROVIDER": "anthropic"}, "ANTHROPIC_API_KEY must be set for LLM_PROVIDER=anthropic"),
        (
            {"LLM_PROVIDER": "azure_openai", "AZURE_OPENAI_ENDPOINT": "https://x"},
            "the name of the model deployment in your Azure OpenAI resource",
        ),
        ({"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}, "set LLM_PROVIDER to the one to use"),
    ],
)
def test_a_missing_setting_says_how_to_fix_it(environ, advice):
    with pytest.raises(LLMConfigError) as raised:
        LLMConfig.from_env(environ)
    assert advice in str(raised.value)


def test_plain_http_only_to_loopback():
    base = {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "k", "OPENAI_MODEL": "m"}
    assert (
        LLMConfig.from_env({**base, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}).endpoint
        == "http://127.0.0.1:9/v1"
    )
    assert LLMConfig.from_env({**base, "OPENAI_BASE_URL": "http://localhost:9/v1"}).endpoint
    with pytest.raises(LLMConfigError):
        LLMConfig.from_env({**base, "OPENAI_BASE_URL": "http://10.0.0.1/v1"})


def test_secrets_never_show(caplog):
    config = LLMConfig.from_env(
        {"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_MODEL": "m"}
    )
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("config %s %r", config, config)
    for text in (repr(config), str(config), config.model_dump_json(), caplog.text):
        assert SECRET not in text


# -- providers through the real SDKs -------------------------------------------------------


def config(provider: Provider, stub: LLMStub, **fields) -> LLMConfig:
    return stub_config(stub, provider, **fields)


def auth_carries(request, key: str) -> bool:
    headers = request.headers
    return (
        headers.get("x-api-key") == key
        or headers.get("authorization") == f"Bearer {key}"
        or headers.get("api-key") == key
    )


async def test_anthropic(stub):
    client = MeteredClient(create_llm_client(config(Provider.ANTHROPIC, stub)))
    response = await client.complete(ask(), system="be brief", max_tokens=50)
    await client.close()
    assert response.content.startswith("Yes")
    assert response.usage.input_tokens == 12
    assert response.usage.output_tokens == 7
    assert response.stop_reason == "end_turn"
    (request,) = stub.requests
    assert request.path == "/v1/messages"
    assert request.body["model"] == "claude-test"
    assert request.body["system"] == "be brief"
    assert request.body["max_tokens"] == 50
    assert auth_carries(request, SECRET)
    assert client.usage.calls == 1


async def test_openai(stub):
    client = create_llm_client(config(Provider.OPENAI, stub))
    response = await client.complete(ask(), system="be brief")
    await client.close()
    assert response.usage.output_tokens == 7
    (request,) = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "gpt-test"
    assert request.body["messages"][0] == {"role": "system", "content": "be brief"}
    assert request.headers["authorization"] == f"Bearer {SECRET}"


async def test_azure_openai_with_a_key(stub):
    client = create_llm_client(config(Provider.AZURE_OPENAI, stub))
    await client.complete(ask())
    await client.close()
    (request,) = stub.requests
    assert request.path == "/openai/deployments/my-deployment/chat/completions"
    assert request.query["api-version"] == ["2024-10-21"]
    assert request.headers["api-key"] == SECRET


class FakeCredential:
    """A credential shaped like azure-identity's async ones, issuing a fixed token."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        self.scopes += scopes
        return AccessToken("entra-token", 4_102_444_800)

    async def get_token_info(self, *scopes, options=None):
        from azure.core.credentials import AccessTokenInfo

        self.scopes += scopes
        return AccessTokenInfo("entra-token", 4_102_444_800)

    async def close(self) -> None:
        pass


async def test_azure_openai_with_entra_id(stub):
    credential = FakeCredential()
    client = create_llm_client(
        config(Provider.AZURE_OPENAI, stub, api_key=None), entra_token_provider(credential)
    )
    await client.complete(ask())
    await client.close()
    (request,) = stub.requests
    assert request.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in request.headers
    assert credential.scopes == ["https://cognitiveservices.azure.com/.default"]


@pytest.mark.parametrize("keyed", [True, False])
async def test_azure_ai_foundry(stub, keyed):
    fields = {} if keyed else {"api_key": None}
    provider = None if keyed else entra_token_provider(FakeCredential())
    client = create_llm_client(config(Provider.AZURE_AI_FOUNDRY, stub, **fields), provider)
    await client.complete(ask())
    await client.close()
    (request,) = stub.requests
    assert request.path == "/openai/v1/chat/completions"
    assert request.body["model"] == "foundry-model"
    assert request.headers["authorization"] == f"Bearer {SECRET if keyed else 'entra-token'}"


@pytest.mark.parametrize("provider", list(Provider))
async def test_a_429_is_retried_by_the_sdk(stub, provider):
    stub.script.append(Reply(status=429, headers={"retry-after-ms": "5", "retry-after": "0"}))
    client = create_llm_client(config(provider, stub))
    response = await client.complete(ask())
    await client.close()
    assert response.content
    assert len(stub.requests) == 2


@pytest.mark.parametrize("provider", list(Provider))
async def test_server_errors_surface_typed_and_retryable(stub, provider):
    for _ in range(3):
        stub.script.append(Reply(status=500, headers={"retry-after-ms": "5"}))
    client = create_llm_client(config(provider, stub, max_retries=1))
    with pytest.raises(LLMServerError) as raised:
        await client.complete(ask())
    await client.close()
    assert raised.value.retryable
    assert len(stub.requests) == 2  # one try plus the SDK's one retry
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize("provider", list(Provider))
async def test_timeouts_surface_typed(stub, provider):
    stub.script.append(Reply(delay=1.5))
    client = create_llm_client(config(provider, stub, timeout=0.3, max_retries=0))
    with pytest.raises(LLMTimeout):
        await client.complete(ask())
    await client.close()


@pytest.mark.parametrize("provider", list(Provider))
async def test_refusals_are_not_retryable(stub, provider):
    stub.script.append(Reply(status=401))
    client = create_llm_client(config(provider, stub))
    with pytest.raises(LLMRequestError) as raised:
        await client.complete(ask())
    await client.close()
    assert not raised.value.retryable
    assert len(stub.requests) == 1


def test_using_the_layer_does_not_import_the_sdks_until_a_client_exists():
    import subprocess
    import sys

    code = (
        "import sys; import haymaker.llm, haymaker.workloads.data_collector; "
        "haymaker.llm.LLMConfig.from_env({'ANTHROPIC_API_KEY': 'k'}); "
        "print(any(m.split('.')[0] in ('anthropic', 'openai') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
