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
