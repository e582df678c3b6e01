import pytest

from haymaker.settings import SettingsError, StorageSettings


def test_connection_string_wins():
    settings = StorageSettings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert settings.connection_string == "UseDevelopmentStorage=true"
    assert settings.table_prefix == "haymaker"


def test_identity_based_settings_as_the_functions_host_uses_them():
    settings = StorageSettings.from_env(
        {
            "AzureWebJobsStorage__accountName": "sthaymaker",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
            "HAYMAKER_TABLE_PREFIX": "prod",
        }
    )
    assert settings.connection_string is None
    assert settings.table_service_uri == "https://sthaymaker.table.core.windows.net"
    assert settings.use_managed_identity
    assert settings.client_id == "00000000-0000-0000-0000-000000000001"
    assert settings.table_prefix == "prod"
    uri = StorageSettings.from_env(
        {"AzureWebJobsStorage__tableServiceUri": "https://x.table.core.windows.net/"}
    )
    assert uri.table_service_uri == "https://x.table.core.windows.net"
    assert not uri.use_managed_identity


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "AzureWebJobsStorage"),
        (
            {"AzureWebJobsStorage": "x", "HAYMAKER_TABLE_PREFIX": "bad-prefix"},
            "HAYMAKER_TABLE_PREFIX",
        ),
        ({"AzureWebJobsStorage": "x", "HAYMAKER_TABLE_PREFIX": "9starts"}, "HAYMAKER_TABLE_PREFIX"),
    ],
)
def test_missing_or_bad_settings_name_the_setting(environ, named):
    with pytest.raises(SettingsError, match=named):
        StorageSettings.from_env(environ)


def test_identity_client_is_built_without_network():
    from haymaker.store.tables import Tables

    tables = Tables(StorageSettings.from_env({"AzureWebJobsStorage__accountName": "sthaymaker"}))
    assert tables.service.url.startswith("https://sthaymaker.table.core.windows.net")


BASE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def test_settings_have_documented_defaults_and_read_each_variable():
    from haymaker.settings import Settings

    defaults = Settings.from_env(BASE)
    assert (defaults.auth_mode, defaults.deploy_rate_limit) == ("off", 60)
    assert (defaults.retention_days, defaults.retention_batch) == (30, 100)
    assert defaults.schedule_grace_seconds == 120
    given = Settings.from_env(
        {
            **BASE,
            "HAYMAKER_AUTH_MODE": "EasyAuth",
            "HAYMAKER_DEPLOY_RATE_LIMIT": "0",
            "HAYMAKER_RETENTION_DAYS": "7.5",
            "HAYMAKER_RETENTION_BATCH": "10",
            "HAYMAKER_SCHEDULE_GRACE_SECONDS": "",  # emptied in the portal: the default
        }
    )
    assert (given.auth_mode, given.deploy_rate_limit) == ("easyauth", 0)
    assert (given.retention_days, given.retention_batch) == (7.5, 10)
    assert given.schedule_grace_seconds == 120


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HAYMAKER_DEPLOY_RATE_LIMIT", "lots"),
        ("HAYMAKER_DEPLOY_RATE_LIMIT", "-1"),
        ("HAYMAKER_RETENTION_BATCH", "5000"),
        ("HAYMAKER_AUTH_MODE", "kerberos"),
        ("HAYMAKER_SCHEDULE_GRACE_SECONDS", "soon"),
    ],
)
def test_a_malformed_setting_is_an_error_naming_it(name, value):
    from haymaker.settings import Settings

    with pytest.raises(SettingsError, match=name) as caught:
        Settings.from_env({**BASE, name: value})
    assert caught.value.setting == name


def test_llm_settings_are_checked_only_when_asked_for():
    from haymaker.llm import LLMConfigError
    from haymaker.settings import Settings

    settings = Settings.from_env({**BASE, "LLM_PROVIDER": "nope"})  # no error yet
    with pytest.raises(LLMConfigError, match="LLM_PROVIDER"):
        settings.llm()


def test_every_setting_is_documented_for_operators():
    """docs/operations.md lists each setting the typed Settings reads, by its name."""
    from pathlib import Path

    from haymaker.settings import Settings

    operations = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    names = [info.alias for info in Settings.model_fields.values() if info.alias]
    missing = [name for name in names if f"`{name}`" not in operations]
    assert not missing, f"settings missing from docs/operations.md: {missing}"


def test_the_auth_mode_the_routes_are_declared_with_is_the_settings_own():
    from api.auth import AUTH_MODE_SETTING, host_checks_keys
    from haymaker.settings import Settings

    assert Settings.model_fields["auth_mode"].alias == AUTH_MODE_SETTING
    assert host_checks_keys({})  # off: the host checks function keys
    assert host_checks_keys({AUTH_MODE_SETTING: "off"})
    assert not host_checks_keys({AUTH_MODE_SETTING: " EasyAuth "})
    # A malformed value keeps the keys; the first request reports it (503 naming it).
    assert host_checks_keys({AUTH_MODE_SETTING: "easy-auth"})


def test_easyauth_while_app_service_reports_its_authentication_off_fails_closed():
    from haymaker.settings import Settings

    off = {**BASE, "HAYMAKER_AUTH_MODE": "easyauth", "WEBSITE_AUTH_ENABLED": "False"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(off)
    assert caught.value.setting == "HAYMAKER_AUTH_MODE"
    assert "App Service authentication is off" in str(caught.value)
    on = {**off, "WEBSITE_AUTH_ENABLED": "True"}
    assert Settings.from_env(on).auth_mode == "easyauth"
    unreported = {**BASE, "HAYMAKER_AUTH_MODE": "easyauth"}  # locally, say
    assert Settings.from_env(unreported).auth_mode == "easyauth"
    assert Settings.from_env({**off, "HAYMAKER_AUTH_MODE": "off"}).auth_mode == "off"
