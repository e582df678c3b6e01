"""scripts/setup-oidc.sh: the commands its --dry-run prints, its input checks, and that it never
writes without being asked.

`az` and `gh` are replaced by stubs placed first on PATH: each call is logged, read-only look-ups
answer from a table, and anything else fails loudly. Nothing here talks to Azure or GitHub.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.script_stubs import Answers, ScriptRun, option, run_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "setup-oidc.sh"
REPO = "contoso/haymaker-functions"

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "api://AzureADTokenExchange"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
# The only roles the deploy identity may hand out: what infra/ assigns to the app's identity.
ASSIGNABLE = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",  # Storage Blob Data Owner
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88",  # Storage Queue Data Contributor
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",  # Storage Table Data Contributor
    "3913510d-42f4-4e42-8a64-420c390055eb",  # Monitoring Metrics Publisher
    "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",  # Key Vault Secrets Officer
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",  # Cognitive Services OpenAI User
    "0ad04412-c4d5-4796-b79c-f76d14c8d402",  # Durable Task Data Contributor
}
VARIABLES = {
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_LOCATION",
    "AZURE_ENV_NAME",
}
SUB = "11111111-1111-1111-1111-111111111111"
TENANT = "22222222-2222-2222-2222-222222222222"
APP_ID = "33333333-3333-3333-3333-333333333333"
SP_ID = "44444444-4444-4444-4444-444444444444"
RG = "rg-haymaker-functions"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/{RG}"

LOGGED_OUT_AZ: Answers = [("account show", "", 1)]
LOGGED_OUT_GH: Answers = [("auth status", "", 1)]
Result = ScriptRun


@pytest.fixture
def run(tmp_path: Path):
    def run(*args: str, az: Answers = LOGGED_OUT_AZ, gh: Answers = LOGGED_OUT_GH) -> Result:
        return run_script(
            SCRIPT,
            args,
            workdir=tmp_path,
            stubs={"az": az, "gh": gh},
            result=Result,
            unset=("AZURE_LOCATION",),
        )

    return run


def condition_role_sets(condition: str) -> list[set[str]]:
    return [
        {guid.strip() for guid in group.split(",")}
        for group in re.findall(r"ForAnyOfAnyValues:GuidEquals \{([^}]*)\}", condition)
    ]


# ---------------------------------------------------------------------------------------------
# --dry-run on a machine where az and gh are not logged in (or not installed)


def test_dry_run_prints_the_whole_plan_without_touching_anything(run) -> None:
    result = run("--dry-run", REPO)

    assert result.code == 0, result.stderr
    assert "not logged in" in result.stderr  # a warning, not an error, in dry-run
    # Only the two login probes ran; every write was printed instead.
    assert result.calls == [["az", "account", "show", "--output", "json"], ["gh", "auth", "status"]]
    assert result.commands, result.stdout
    assert all(c[0] in ("az", "gh") for c in result.commands)


def test_federated_credentials_have_the_exact_subjects(run) -> None:
    result = run("--dry-run", REPO)

    created = result.named("az", "ad", "app", "federated-credential", "create")
    params = [json.loads(option(c, "--parameters")) for c in created]
    assert sorted(p["subject"] for p in params) == sorted(
        [
            f"repo:{REPO}:ref:refs/heads/main",
            f"repo:{REPO}:environment:dev",
            f"repo:{REPO}:environment:prod",
            f"repo:{REPO}:pull_request",
        ]
    )
    for p in params:
        assert p["issuer"] == ISSUER
        assert p["audiences"] == [AUDIENCE]
    assert len({p["name"] for p in params}) == len(params)


def test_one_federated_credential_per_given_environment(run) -> None:
    result = run(
        "--dry-run",
        "--environment",
        "staging",
        "--resource-group",
        "rg-custom",
        "--location",
        "westeurope",
        REPO,
    )

    assert result.code == 0, result.stderr
    created = result.named("az", "ad", "app", "federated-credential", "create")
    subjects = {json.loads(option(c, "--parameters"))["subject"] for c in created}
    assert subjects == {
        f"repo:{REPO}:ref:refs/heads/main",
        f"repo:{REPO}:environment:staging",
        f"repo:{REPO}:pull_request",
    }
    [group] = result.named("az", "group", "create")
    assert option(group, "--name") == "rg-custom"
    assert option(group, "--location") == "westeurope"
    environments = [c[4] for c in result.named("gh", "api", "--method", "PUT")]
    assert environments == [f"repos/{REPO}/environments/staging"]


def test_roles_are_granted_on_the_resource_group_only(run) -> None:
    result = run("--dry-run", "--resource-group", "rg-deploy", REPO)

    assignments = result.named("az", "role", "assignment", "create")
    assert sorted(option(c, "--role") for c in assignments) == sorted([CONTRIBUTOR, RBAC_ADMIN])
    for command in assignments:
        assert re.fullmatch(
            r"/subscriptions/[^/]+/resourceGroups/rg-deploy", option(command, "--scope")
        )
        assert option(command, "--assignee-principal-type") == "ServicePrincipal"
    # No scope anywhere is a bare subscription, and no broad role is ever granted.
    for command in result.commands:
        if "--scope" in command:
            assert not re.fullmatch(r"/subscriptions/[^/]+/?", option(command, "--scope"))
        assert USER_ACCESS_ADMIN not in command
        assert OWNER_ROLE not in command
        assert "User Access Administrator" not in command
        assert "Owner" not in command


def test_rbac_administrator_is_constrained_to_exactly_the_app_roles(run) -> None:
    result = run("--dry-run", REPO)

    [admin] = [
        c
        for c in result.named("az", "role", "assignment", "create")
        if option(c, "--role") == RBAC_ADMIN
    ]
    condition = option(admin, "--condition")
    assert option(admin, "--condition-version") == "2.0"
    # Writes checked against the request, deletes against the existing assignment.
    assert "!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})" in condition
    assert "!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})" in condition
    assert "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]" in condition
    assert "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId]" in condition
    sets = condition_role_sets(condition)
    assert len(sets) == 2
    assert all(s == ASSIGNABLE for s in sets)
    # The Contributor grant carries no condition: it cannot write role assignments at all.
    [contributor] = [
        c
        for c in result.named("az", "role", "assignment", "create")
        if option(c, "--role") == CONTRIBUTOR
    ]
    assert "--condition" not in contributor


def test_no_client_secret_is_ever_created(run) -> None:
    result = run("--dry-run", REPO)

    for command in result.commands:
        line = " ".join(command)
        assert "credential reset" not in line
        assert "create-for-rbac" not in line
        assert "--password" not in command
        assert "--append" not in command
        assert "secret" not in line.lower()
    assert result.named("az", "ad", "app", "create")
    assert result.named("az", "ad", "sp", "create")


def test_github_variables_and_environments_are_set(run) -> None:
    result = run("--dry-run", "--location", "swedencentral", REPO)

    sets = result.named("gh", "variable", "set")
    assert {c[3] for c in sets} == VARIABLES
    assert len(sets) == len(VARIABLES)
    values = {c[3]: option(c, "--body") for c in sets}
    assert all(option(c, "--repo") == REPO for c in sets)
    assert values["AZURE_RESOURCE_GROUP"] == RG
    assert values["AZURE_LOCATION"] == "swedencentral"
    assert values["AZURE_ENV_NAME"] == "haymaker-functions"
    environments = [c[4] for c in result.named("gh", "api", "--method", "PUT")]
    assert environments == [f"repos/{REPO}/environments/dev", f"repos/{REPO}/environments/prod"]
    policies = result.named("gh", "api", "--method", "POST")
    assert [c[4] for c in policies] == [
        f"repos/{REPO}/environments/dev/deployment-branch-policies",
        f"repos/{REPO}/environments/prod/deployment-branch-policies",
    ]
    assert all("name=main" in c for c in policies)


def test_per_environment_variables_go_on_the_environment(run) -> None:
    result = run(
        "--dry-run",
        "--environment",
        "prod",
        "--resource-group",
        "rg-haymaker-prod",
        "--env-name",
        "haymaker-prod",
        "--per-environment-variables",
        REPO,
    )

    assert result.code == 0, result.stderr
    scoped = {c[3]: c for c in result.named("gh", "variable", "set")}
    assert set(scoped) == VARIABLES
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"):
        assert not any(arg.startswith("--env") for arg in scoped[name])
    for name, value in [
        ("AZURE_RESOURCE_GROUP", "rg-haymaker-prod"),
        ("AZURE_ENV_NAME", "haymaker-prod"),
        ("AZURE_LOCATION", "eastus2"),
    ]:
        assert "--env=prod" in scoped[name]
        assert option(scoped[name], "--body") == value
    for command in result.named("az", "role", "assignment", "create"):
        assert option(command, "--scope").endswith("/resourceGroups/rg-haymaker-prod")


# ---------------------------------------------------------------------------------------------
# Bad input: exit 2, a clear message, nothing printed or run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["owner-only"], "'owner-only' is not of the form OWNER/REPO"),
        (["a/b/c"], "'a/b/c' is not of the form OWNER/REPO"),
        (["-owner/repo"], "unknown option"),
        (["owner/.."], "is not of the form OWNER/REPO"),
        ([], "missing OWNER/REPO"),
        (["o/r", "p/q"], "only one OWNER/REPO"),
        (["--environment", "bad name", "o/r"], "bad environment name 'bad name'"),
        (["--environment", "bad.env", "o/r"], "bad environment name 'bad.env'"),
        (["--environment", "dev", "--environment", "dev", "o/r"], "environment 'dev' given twice"),
        (["--environment"], "--environment needs a value"),
        (["--resource-group", "rg/x", "o/r"], "bad resource group name"),
        (["--location", "East US", "o/r"], "bad location"),
        (["--frobnicate", "o/r"], "unknown option: --frobnicate"),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_input_exits_2_with_a_clear_message(run, args, message, dry_run) -> None:
    result = run(*(["--dry-run"] if dry_run else []), *args)

    assert result.code == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "error:" in result.stderr
    assert result.commands == []
    assert result.calls == []  # rejected before asking az or gh anything


def test_help_exits_0(run) -> None:
    result = run("--help")
    assert result.code == 0
    assert "usage: scripts/setup-oidc.sh" in result.stdout


def test_real_run_refuses_when_not_logged_in(run) -> None:
    result = run(REPO)

    assert result.code == 2
    assert "not logged in" in result.stderr
    assert "az login" in result.stderr
    assert [c[:3] for c in result.calls] == [["az", "account", "show"]]


def test_missing_tools_are_errors_but_only_warnings_in_dry_run(tmp_path: Path) -> None:
    # A PATH with only what the script needs besides az, gh and jq.
    bin_dir = tmp_path / "bare"
    bin_dir.mkdir()
    for tool in ("tr", "sort"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    bash = shutil.which("bash")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}

    real = subprocess.run(
        [bash, str(SCRIPT), REPO], env=env, capture_output=True, text=True, timeout=60
    )
    assert real.returncode == 2
    assert "missing prerequisite(s): az gh jq" in real.stderr

    dry = subprocess.run(
        [bash, str(SCRIPT), "--dry-run", REPO], env=env, capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    assert "warning: missing prerequisite(s): az gh jq" in dry.stderr
    assert "DRY-RUN: az role assignment create" in dry.stdout


# ---------------------------------------------------------------------------------------------
# --dry-run when logged in: look-ups run (and shape the plan), writes are only printed

needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")

ACCOUNT = json.dumps({"id": SUB, "tenantId": TENANT, "name": "Test subscription"})
FRESH_AZ: Answers = [
    ("account show", ACCOUNT, 0),
    ("group exists", "false\n", 0),
    ("provider show --namespace Microsoft.DurableTask", "NotRegistered\n", 0),
    ("provider show", "Registered\n", 0),
    ("ad app list", "[]", 0),
]
FRESH_GH: Answers = [("auth status", "", 0), ("api repos/", "", 1)]


def written(calls: list[list[str]]) -> list[list[str]]:
    """Calls to the stubs other than the look-ups the script is allowed to make."""
    reads = (
        ["az", "account", "show"],
        ["az", "group", "exists"],
        ["az", "group", "show"],
        ["az", "provider", "show"],
        ["az", "ad", "app", "list"],
        ["az", "ad", "sp", "list"],
        ["az", "ad", "app", "federated-credential", "list"],
        ["az", "role", "assignment", "list"],
        ["gh", "auth", "status"],
    )
    return [
        c
        for c in calls
        if not any(c[: len(r)] == list(r) for r in reads)
        and not (c[:2] == ["gh", "api"] and "--method" not in c)
    ]


@needs_jq
def test_logged_in_dry_run_uses_real_ids_and_writes_nothing(run) -> None:
    result = run("--dry-run", REPO, az=FRESH_AZ, gh=FRESH_GH)

    assert result.code == 0, result.stderr
    assert written(result.calls) == []
    registered = [option(c, "--namespace") for c in result.named("az", "provider", "register")]
    assert registered == ["Microsoft.DurableTask"]
    for command in result.named("az", "role", "assignment", "create"):
        assert option(command, "--scope") == SCOPE
    values = {c[3]: option(c, "--body") for c in result.named("gh", "variable", "set")}
    assert values["AZURE_SUBSCRIPTION_ID"] == SUB
    assert values["AZURE_TENANT_ID"] == TENANT


def existing_setup(admin_condition: str | None) -> Answers:
    credentials = [
        {"name": name, "issuer": ISSUER, "subject": subject, "audiences": [AUDIENCE]}
        for name, subject in [
            ("github-branch-main", f"repo:{REPO}:ref:refs/heads/main"),
            ("github-pull-request", f"repo:{REPO}:pull_request"),
            ("github-env-dev", f"repo:{REPO}:environment:dev"),
            ("github-env-prod", f"repo:{REPO}:environment:prod"),
        ]
    ]

    def assignment(role: str, condition: str | None) -> str:
        return json.dumps(
            [
                {
                    "id": f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/{role[:8]}",
                    "principalId": SP_ID,
                    "scope": SCOPE,
                    "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
                    "condition": condition,
                }
            ]
        )

    return [
        ("account show", ACCOUNT, 0),
        ("group exists", "true\n", 0),
        ("group show", "eastus2\n", 0),
        ("provider show", "Registered\n", 0),
        (
            "ad app list",
            json.dumps([{"displayName": f"github-{REPO.replace('/', '-')}", "appId": APP_ID}]),
            0,
        ),
        ("ad sp list", f"{SP_ID}\n", 0),
        ("ad app federated-credential list", json.dumps(credentials), 0),
        (
            f"role assignment list --scope {SCOPE} --role {CONTRIBUTOR}",
            assignment(CONTRIBUTOR, None),
            0,
        ),
        (
            f"role assignment list --scope {SCOPE} --role {RBAC_ADMIN}",
            assignment(RBAC_ADMIN, admin_condition),
            0,
        ),
    ]


def expected_condition(run) -> str:
    first = run("--dry-run", REPO)
    [admin] = [
        c
        for c in first.named("az", "role", "assignment", "create")
        if option(c, "--role") == RBAC_ADMIN
    ]
    return option(admin, "--condition")


@needs_jq
def test_rerun_changes_nothing_but_the_variables(run) -> None:
    az = existing_setup(expected_condition(run))
    result = run("--dry-run", REPO, az=az, gh=[("auth status", "", 0), ("api repos/", "{}", 0)])

    assert result.code == 0, result.stderr
    assert written(result.calls) == []
    assert [c[:3] for c in result.commands] == [["gh", "variable", "set"]] * len(VARIABLES)
    values = {c[3]: option(c, "--body") for c in result.commands}
    assert values["AZURE_CLIENT_ID"] == APP_ID


@needs_jq
def test_an_unconstrained_rbac_administrator_grant_is_replaced(run) -> None:
    result = run("--dry-run", REPO, az=existing_setup(None), gh=FRESH_GH)

    assert result.code == 0, result.stderr
    assert written(result.calls) == []
    [delete] = result.named("az", "role", "assignment", "delete")
    assert option(delete, "--ids").startswith(
        f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/"
    )
    [create] = result.named("az", "role", "assignment", "create")
    assert option(create, "--role") == RBAC_ADMIN
    assert all(s == ASSIGNABLE for s in condition_role_sets(option(create, "--condition")))
    assert "condition differs" in result.stderr


@needs_jq
def test_existing_app_but_new_resource_group(run) -> None:
    az = [a for a in existing_setup(None) if not a[0].startswith(("group", "role"))]
    az.insert(1, ("group exists", "false\n", 0))
    result = run("--dry-run", REPO, az=az, gh=FRESH_GH)

    assert result.code == 0, result.stderr
    assert written(result.calls) == []
    # The group does not exist yet, so there is nothing to look up in it.
    assert not any(c[1:4] == ["role", "assignment", "list"] for c in result.calls)
    assert result.named("az", "group", "create")
    roles = [option(c, "--role") for c in result.named("az", "role", "assignment", "create")]
    assert sorted(roles) == sorted([CONTRIBUTOR, RBAC_ADMIN])
    assert not result.named("az", "ad", "app", "create")
    assert not result.named("az", "ad", "app", "federated-credential", "create")
