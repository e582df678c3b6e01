"""scripts/setup-auth.sh: the commands its --dry-run prints, its input checks, its idempotence
against an existing registration, and that it never creates a secret.

`az` is replaced by a stub placed first on PATH: each call is logged, answers come from a table
(first matching prefix wins), and anything else fails loudly. Nothing here talks to Azure.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.script_stubs import Answers, ScriptRun, option, run_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "setup-auth.sh"

GRAPH = "https://graph.microsoft.com/v1.0"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
# The script's UUIDv5 namespace for role and scope ids.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/haymaker-functions/app-registration")
ROLES = ("Haymaker.Reader", "Haymaker.Operator", "Haymaker.Approver", "Haymaker.Admin")
ROLE_IDS = {role: str(uuid.uuid5(NAMESPACE, role)) for role in ROLES}
SCOPE_ID = str(uuid.uuid5(NAMESPACE, "user_impersonation"))

TENANT = "22222222-2222-2222-2222-222222222222"
APP_ID = "33333333-3333-3333-3333-333333333333"
APP_OBJECT_ID = "44444444-4444-4444-4444-444444444444"
SP_ID = "55555555-5555-5555-5555-555555555555"
USER = "66666666-6666-6666-6666-666666666666"

LOGGED_OUT: Answers = [("account show", "", 1)]
ACCOUNT = json.dumps({"tenantId": TENANT, "user": {"name": "me@contoso.com"}})


class Result(ScriptRun):
    def patches(self) -> list[dict[str, Any]]:
        return [
            json.loads(option(c, "--body")) for c in self.named("az", "rest", "--method", "PATCH")
        ]

    @property
    def outputs(self) -> dict[str, str]:
        return dict(
            line.split("=", 1) for line in self.stdout.splitlines() if line.startswith("AUTH_")
        )


@pytest.fixture
def run(tmp_path: Path):
    def run(*args: str, az: Answers | None = LOGGED_OUT, path: str | None = None) -> Result:
        return run_script(
            SCRIPT,
            args,
            workdir=tmp_path,
            stubs={"az": az},
            result=Result,
            env={"SETUP_AUTH_RETRY_SECONDS": "0"},
            path=path,
        )

    return run


needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
pytestmark = needs_jq


# ---------------------------------------------------------------------------------------------
# --dry-run without a login: the whole plan, nothing run


def test_dry_run_prints_the_whole_plan_without_touching_anything(run) -> None:
    result = run("--dry-run")

    assert result.code == 0, result.stderr
    assert "not logged in" in result.stderr  # a warning, not an error, in dry-run
    assert result.calls == [["az", "account", "show", "--output", "json"]]
    assert [c[:4] for c in result.commands] == [
        ["az", "ad", "app", "create"],
        ["az", "rest", "--method", "PATCH"],
        ["az", "rest", "--method", "PATCH"],
        ["az", "ad", "sp", "create"],
    ]
    [create] = result.named("az", "ad", "app", "create")
    assert option(create, "--display-name") == "haymaker-api"
    assert option(create, "--sign-in-audience") == "AzureADMyOrg"
    for patch in result.named("az", "rest", "--method", "PATCH"):
        assert option(patch, "--uri") == f"{GRAPH}/applications/<app-object-id>"
        assert option(patch, "--headers") == "Content-Type=application/json"
    assert result.outputs == {"AUTH_CLIENT_ID": "<app-client-id>", "AUTH_TENANT_ID": "<tenant-id>"}
    assert "azd env set AUTH_CLIENT_ID <app-client-id>" in result.stderr


def test_identifier_uri_roles_and_v2_tokens(run) -> None:
    first, _ = run("--dry-run").patches()

    assert first["identifierUris"] == ["api://<app-client-id>"]
    assert first["api"]["requestedAccessTokenVersion"] == 2
    roles = {role["value"]: role for role in first["appRoles"]}
    assert set(roles) == set(ROLES)
    for value, role in roles.items():
        # Stable ids: UUIDv5 of the role name, the same on every run and in every tenant.
        assert role["id"] == ROLE_IDS[value]
        assert sorted(role["allowedMemberTypes"]) == ["Application", "User"]
        assert role["isEnabled"] is True
        assert role["displayName"].startswith("Haymaker ")
        assert role["description"]
        assert "origin" not in role
    assert len({role["id"] for role in roles.values()}) == len(ROLES)


CALLBACK = "https://func-abc.azurewebsites.net/.auth/login/aad/callback"


def test_web_host_lets_browsers_sign_in_through_app_service_authentication(run) -> None:
    first, _ = run("--dry-run", "--web-host", "Func-ABC.azurewebsites.net").patches()

    assert first["web"] == {
        "redirectUris": [CALLBACK],
        "implicitGrantSettings": {"enableIdTokenIssuance": True},
    }
    without, _ = run("--dry-run").patches()
    assert "web" not in without  # no host, no browser sign-in: token validation only


def test_web_host_keeps_other_redirects_and_is_not_set_twice(run) -> None:
    other = "https://localhost:3000/callback"
    app = {**registration(), "web": {"redirectUris": [other], "implicitGrantSettings": {}}}
    result = run("--dry-run", "--web-host", "func-abc.azurewebsites.net", az=logged_in(app))
    assert result.code == 0, result.stderr
    (first,) = result.patches()
    assert sorted(first["web"]["redirectUris"]) == sorted([other, CALLBACK])
    assert first["web"]["implicitGrantSettings"] == {"enableIdTokenIssuance": True}

    done = {
        **registration(),
        "web": {
            "redirectUris": [CALLBACK],
            "implicitGrantSettings": {"enableIdTokenIssuance": True},
        },
    }
    again = run("--dry-run", "--web-host", "func-abc.azurewebsites.net", az=logged_in(done))
    assert again.code == 0, again.stderr
    assert again.patches() == []


def test_user_impersonation_scope_then_azure_cli_preauthorization(run) -> None:
    first, second = run("--dry-run").patches()

    [scope] = first["api"]["oauth2PermissionScopes"]
    assert scope["value"] == "user_impersonation"
    assert scope["id"] == SCOPE_ID
    assert scope["type"] == "User"
    assert scope["isEnabled"] is True
    # The pre-authorization goes in a second request: Entra ID does not accept one naming a
    # scope that the same request adds.
    assert "preAuthorizedApplications" not in first["api"]
    assert second["api"]["preAuthorizedApplications"] == [
        {"appId": AZURE_CLI, "delegatedPermissionIds": [SCOPE_ID]}
    ]
    assert second["api"]["oauth2PermissionScopes"] == first["api"]["oauth2PermissionScopes"]
    assert second["api"]["requestedAccessTokenVersion"] == 2


@pytest.mark.parametrize("role", ROLES)
def test_role_assignment_is_printed(run, role: str) -> None:
    result = run("--dry-run", "--assign-role", role, "--to", USER.upper())

    assert result.code == 0, result.stderr
    [post] = result.named("az", "rest", "--method", "POST")
    uri = f"{GRAPH}/servicePrincipals/<service-principal-object-id>/appRoleAssignedTo"
    assert option(post, "--uri") == uri
    assert json.loads(option(post, "--body")) == {
        "principalId": USER,  # normalized to lower case
        "resourceId": "<service-principal-object-id>",
        "appRoleId": ROLE_IDS[role],
    }
    assert result.commands[-1] == post  # after the service principal exists


def test_no_secret_is_ever_created(run) -> None:
    result = run("--dry-run", "--assign-role", "Haymaker.Admin", "--to", USER)

    assert result.commands
    for command in result.commands:
        line = " ".join(command).lower()
        assert "credential" not in line
        assert "password" not in line
        assert "secret" not in line
        assert "keycredentials" not in line
        assert "create-for-rbac" not in line


def test_app_name_is_used_verbatim(run) -> None:
    result = run("--dry-run", "--app-name", "Haymaker API prod")

    assert result.code == 0, result.stderr
    [create] = result.named("az", "ad", "app", "create")
    assert option(create, "--display-name") == "Haymaker API prod"


# ---------------------------------------------------------------------------------------------
# Bad input: exit 2, a clear message, nothing printed or run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--assign-role", "Haymaker.Owner", "--to", USER], "unknown role 'Haymaker.Owner'"),
        (["--assign-role", "haymaker.reader", "--to", USER], "unknown role 'haymaker.reader'"),
        (["--assign-role", "Reader", "--to", USER], "use one of Haymaker.Reader"),
        (["--assign-role", "Haymaker.Reader"], "--assign-role needs --to OBJECT_ID"),
        (["--to", USER], "--to needs --assign-role ROLE"),
        (["--assign-role", "Haymaker.Reader", "--to", "me@contoso.com"], "bad --to"),
        (["--assign-role", "Haymaker.Reader", "--to", USER + "0"], "bad --to"),
        (["--assign-role"], "--assign-role needs a value"),
        (["--assign-role", "--to", USER], "--assign-role needs a value"),
        (["--app-name", "bad'name"], "bad --app-name"),
        (["--app-name", ""], "--app-name needs a value"),
        (["--frobnicate"], "unknown option: --frobnicate"),
        (["--web-host", "https://func-abc.azurewebsites.net"], "bad --web-host"),
        (["--web-host", "func-abc.azurewebsites.net/api"], "bad --web-host"),
        (["--web-host", "func-abc.azurewebsites.net:443"], "bad --web-host"),
        (["--web-host", "localhost"], "bad --web-host"),
        (["--web-host"], "--web-host needs a value"),
        (["contoso/haymaker"], "unexpected argument 'contoso/haymaker'"),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_input_exits_2_with_a_clear_message(run, args, message, dry_run) -> None:
    result = run(*(["--dry-run"] if dry_run else []), *args)

    assert result.code == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "error:" in result.stderr
    assert result.commands == []
    assert result.calls == []  # rejected before asking az anything


def test_help_exits_0(run) -> None:
    result = run("--help")
    assert result.code == 0
    assert "usage: scripts/setup-auth.sh" in result.stdout
    assert result.calls == []


def test_real_run_refuses_when_not_logged_in(run) -> None:
    result = run()

    assert result.code == 2
    assert "not logged in" in result.stderr
    assert "az login" in result.stderr
    assert result.calls == [["az", "account", "show", "--output", "json"]]


def bare_path(tmp_path: Path, *tools: str) -> str:
    """A PATH with only these tools (jq, sha1sum...) and no az."""
    bin_dir = tmp_path / "bare"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        assert found, tool
        link = bin_dir / tool
        if not link.exists():
            link.symlink_to(found)
    return str(bin_dir)


def test_missing_az_is_an_error_but_only_a_warning_in_dry_run(run, tmp_path: Path) -> None:
    path = bare_path(tmp_path, "jq", "sha1sum")

    real = run(az=None, path=path)
    assert real.code == 2
    assert "missing prerequisite: az" in real.stderr

    dry = run("--dry-run", az=None, path=path)
    assert dry.code == 0, dry.stderr
    assert "warning: missing prerequisite: az" in dry.stderr
    assert dry.named("az", "ad", "app", "create")


def test_missing_jq_is_an_error_even_in_dry_run(run, tmp_path: Path) -> None:
    result = run("--dry-run", az=None, path=bare_path(tmp_path, "sha1sum"))

    assert result.code == 2
    assert "missing prerequisite: jq" in result.stderr
    assert result.commands == []


# ---------------------------------------------------------------------------------------------
# Logged in: look-ups run and shape the plan; in dry-run nothing else runs

READS = (
    ["az", "account", "show"],
    ["az", "ad", "app", "list"],
    ["az", "ad", "sp", "list"],
    ["az", "rest", "--method", "GET"],
)


def written(calls: list[list[str]]) -> list[list[str]]:
    """Calls to the stub other than the look-ups the script is allowed to make."""
    return [c for c in calls if not any(c[: len(r)] == r for r in READS)]


def registration(
    *,
    roles: list[dict[str, Any]] | None = None,
    scopes: list[dict[str, Any]] | None = None,
    preauthorized: list[dict[str, Any]] | None = None,
    uris: list[str] | None = None,
    version: int | None = 2,
) -> dict[str, Any]:
    """An application object as `az ad app list` returns it (Graph format)."""
    if roles is None:
        roles = [
            {
                "allowedMemberTypes": ["User", "Application"],
                "description": "d",
                "displayName": value,
                "id": ROLE_IDS[value],
                "isEnabled": True,
                "origin": "Application",
                "value": value,
            }
            for value in ROLES
        ]
    if scopes is None:
        scopes = [
            {"id": SCOPE_ID, "isEnabled": True, "type": "User", "value": "user_impersonation"}
        ]
    if preauthorized is None:
        preauthorized = [{"appId": AZURE_CLI, "delegatedPermissionIds": [SCOPE_ID]}]
    return {
        "appId": APP_ID,
        "id": APP_OBJECT_ID,
        "displayName": "haymaker-api",
        "identifierUris": [f"api://{APP_ID}"] if uris is None else uris,
        "appRoles": roles,
        "api": {
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "oauth2PermissionScopes": scopes,
            "preAuthorizedApplications": preauthorized,
            "requestedAccessTokenVersion": version,
        },
    }


def logged_in(
    app: dict[str, Any] | None,
    *,
    sp: str = SP_ID,
    assignments: list[dict[str, str]] | None = None,
    writes: bool = False,
) -> Answers:
    apps = [app] if app else []
    # A prefix match on the display name: an app whose name only starts the same is ignored.
    apps.append(
        {**registration(), "appId": "9" * 8 + APP_ID[8:], "displayName": "haymaker-api-old"}
    )
    answers: Answers = [
        ("account show", ACCOUNT, 0),
        ("ad app list", json.dumps(apps), 0),
        ("ad sp list", f"{sp}\n" if sp else "", 0),
        (
            f"rest --method GET --uri {GRAPH}/servicePrincipals/{SP_ID}/appRoleAssignedTo?page=2",
            json.dumps({"value": assignments or []}),
            0,
        ),
        (
            f"rest --method GET --uri {GRAPH}/servicePrincipals/{SP_ID}/appRoleAssignedTo",
            json.dumps(
                {
                    "value": [{"principalId": "7" * 8 + USER[8:], "appRoleId": ROLE_IDS[ROLES[0]]}],
                    "@odata.nextLink": f"{GRAPH}/servicePrincipals/{SP_ID}/appRoleAssignedTo?page=2",
                }
            ),
            0,
        ),
    ]
    if writes:
        created = {**registration(roles=[], scopes=[], preauthorized=[], uris=[], version=None)}
        answers += [
            ("ad app create", json.dumps(created), 0),
            ("ad sp create", f"{SP_ID}\n", 0),
            ("rest --method PATCH", "", 0),
            ("rest --method POST", "", 0),
        ]
    return answers


def test_fresh_tenant_dry_run_uses_the_tenant_and_writes_nothing(run) -> None:
    result = run("--dry-run", az=logged_in(None, sp=""))

    assert result.code == 0, result.stderr
    assert written(result.calls) == []
    assert result.named("az", "ad", "app", "create")
    assert result.outputs == {"AUTH_CLIENT_ID": "<app-client-id>", "AUTH_TENANT_ID": TENANT}


def test_rerun_on_a_complete_registration_changes_nothing(run) -> None:
    result = run(
        "--dry-run",
        "--assign-role",
        "Haymaker.Reader",
        "--to",
        USER,
        az=logged_in(
            registration(), assignments=[{"principalId": USER, "appRoleId": ROLE_IDS[ROLES[0]]}]
        ),
    )

    assert result.code == 0, result.stderr
    assert result.commands == []
    assert written(result.calls) == []
    assert f"{USER} already has Haymaker.Reader" in result.stderr
    # Both pages of assignments were read.
    pages = [c for c in result.calls if c[:4] == ["az", "rest", "--method", "GET"]]
    assert len(pages) == 2
    assert result.outputs == {"AUTH_CLIENT_ID": APP_ID, "AUTH_TENANT_ID": TENANT}


def test_existing_roles_keep_their_ids_and_other_roles_stay(run) -> None:
    legacy = {
        "allowedMemberTypes": ["User"],
        "description": "old",
        "displayName": "Legacy",
        "id": "88888888-8888-8888-8888-888888888888",
        "isEnabled": True,
        "origin": "Application",
        "value": "Legacy.Role",
    }
    reader = {
        "allowedMemberTypes": ["Application", "User"],
        "description": "made by hand",
        "displayName": "Reader",
        "id": "99999999-9999-9999-9999-999999999999",
        "isEnabled": True,
        "origin": "Application",
        "value": "Haymaker.Reader",
    }
    result = run(
        "--dry-run",
        "--assign-role",
        "Haymaker.Reader",
        "--to",
        USER,
        az=logged_in(registration(roles=[legacy, reader], preauthorized=[])),
    )

    assert result.code == 0, result.stderr
    assert written(result.calls) == []
    first, second = result.patches()
    assert "identifierUris" not in first  # already there
    assert "api" not in first  # v2 tokens and the scope are already there
    roles = {role["value"]: role for role in first["appRoles"]}
    # Existing roles are sent back unchanged (minus the read-only origin): Entra ID refuses
    # changes to an enabled role.
    assert roles["Legacy.Role"] == {k: v for k, v in legacy.items() if k != "origin"}
    assert roles["Haymaker.Reader"] == {k: v for k, v in reader.items() if k != "origin"}
    assert roles["Haymaker.Operator"]["id"] == ROLE_IDS["Haymaker.Operator"]
    assert roles["Haymaker.Admin"]["id"] == ROLE_IDS["Haymaker.Admin"]
    assert second["api"]["preAuthorizedApplications"] == [
        {"appId": AZURE_CLI, "delegatedPermissionIds": [SCOPE_ID]}
    ]
    # The assignment uses the role's existing id.
    [post] = result.named("az", "rest", "--method", "POST")
    body = json.loads(option(post, "--body"))
    assert body == {"principalId": USER, "resourceId": SP_ID, "appRoleId": reader["id"]}
    assert option(post, "--uri") == f"{GRAPH}/servicePrincipals/{SP_ID}/appRoleAssignedTo"


def test_a_role_in_another_form_is_reported_not_changed(run) -> None:
    roles = registration()["appRoles"]
    roles[-1] = {**roles[-1], "allowedMemberTypes": ["User"]}
    result = run("--dry-run", az=logged_in(registration(roles=roles)))

    assert result.code == 0, result.stderr
    assert result.commands == []
    assert "app role Haymaker.Admin exists but" in result.stderr


def test_existing_scope_and_other_preauthorizations_are_kept(run) -> None:
    scope = {"id": "abababab-abab-abab-abab-abababababab", "isEnabled": True, "type": "User"}
    scopes = [{**scope, "value": "user_impersonation"}]
    other = {
        "appId": "cdcdcdcd-cdcd-cdcd-cdcd-cdcdcdcdcdcd",
        "delegatedPermissionIds": [scope["id"]],
    }
    app = registration(scopes=scopes, preauthorized=[other], uris=["https://api.contoso.com"])
    result = run("--dry-run", az=logged_in(app))

    first, second = result.patches()
    assert first == {"identifierUris": ["https://api.contoso.com", f"api://{APP_ID}"]}
    assert second["api"]["oauth2PermissionScopes"] == scopes
    assert second["api"]["preAuthorizedApplications"] == [
        other,
        {"appId": AZURE_CLI, "delegatedPermissionIds": [scope["id"]]},
    ]


def test_v1_tokens_are_switched_to_v2(run) -> None:
    result = run("--dry-run", az=logged_in(registration(version=None)))

    [first] = result.patches()
    assert first["api"]["requestedAccessTokenVersion"] == 2
    assert first["api"]["oauth2PermissionScopes"] == registration()["api"]["oauth2PermissionScopes"]
    assert (
        first["api"]["preAuthorizedApplications"]
        == registration()["api"]["preAuthorizedApplications"]
    )


def test_two_registrations_with_the_name_stop_the_script(run) -> None:
    answers = logged_in(registration())
    twice = json.dumps([registration(), {**registration(), "appId": "1" * 8 + APP_ID[8:]}])
    answers[1] = ("ad app list", twice, 0)
    result = run("--dry-run", az=answers)

    assert result.code == 1
    assert "2 app registrations are named 'haymaker-api'" in result.stderr
    assert result.commands == []


# ---------------------------------------------------------------------------------------------
# A real run (the stub accepts writes)


def test_real_run_creates_everything_and_assigns_the_role(run) -> None:
    result = run(
        "--assign-role", "Haymaker.Operator", "--to", USER, az=logged_in(None, sp="", writes=True)
    )

    assert result.code == 0, result.stderr
    assert result.commands == []  # nothing merely printed
    writes = written(result.calls)
    assert [c[:4] for c in writes] == [
        ["az", "ad", "app", "create"],
        ["az", "rest", "--method", "PATCH"],
        ["az", "rest", "--method", "PATCH"],
        ["az", "ad", "sp", "create"],
        ["az", "rest", "--method", "POST"],
    ]
    first = json.loads(option(writes[1], "--body"))
    assert first["identifierUris"] == [f"api://{APP_ID}"]
    assert option(writes[1], "--uri") == f"{GRAPH}/applications/{APP_OBJECT_ID}"
    post = json.loads(option(writes[4], "--body"))
    assert post == {"principalId": USER, "resourceId": SP_ID, "appRoleId": ROLE_IDS[ROLES[1]]}
    # The new service principal has no assignments yet: nothing was looked up.
    assert not [c for c in result.calls if c[:4] == ["az", "rest", "--method", "GET"]]
    assert result.outputs == {"AUTH_CLIENT_ID": APP_ID, "AUTH_TENANT_ID": TENANT}


def test_a_failing_az_call_exits_1(run) -> None:
    answers = logged_in(None, sp="", writes=True)
    answers.insert(0, ("rest --method PATCH", "", 1))
    result = run(az=answers)

    assert result.code == 1
    assert "could not update app registration" in result.stderr
    # Retried: a new registration may not be visible everywhere yet.
    patches = [c for c in result.calls if c[:4] == ["az", "rest", "--method", "PATCH"]]
    assert len(patches) == 6
