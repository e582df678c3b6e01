"""Offline checks of the Bicep under infra/: syntax gates and security properties.

No Bicep compiler is reachable offline, so two independent parsers gate the syntax
(tree-sitter-bicep and pycep-parser), and the security properties are asserted on pycep's
parse of every file. Each property check is a function from parsed templates to a list of
violations, so the same code judges infra/ and the deliberately broken copy in
tests/fixtures/infra_broken/, which proves that each check can fail.

checkov (scripts/checkov.sh) is a third, separate gate: it pins an older pycep-parser and
so runs from its own virtualenv, not from this test suite.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_bicep
from pycep import BicepParser
from tree_sitter import Language, Parser

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infra"
BROKEN = Path(__file__).resolve().parent / "fixtures" / "infra_broken"

# Built-in role definition ids the app identity (and the operator) need.
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
REQUIRED_ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    # .../built-in-roles/integration#durable-task-data-contributor
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    # .../built-in-roles/integration#eventgrid-data-sender
    "EventGrid Data Sender": "d5a91429-5739-47e2-a06b-3470a27159e7",
}

REQUIRED_OUTPUTS = (
    "AZURE_FUNCTION_APP_NAME",
    "AZURE_FUNCTION_APP_URL",
    "AZURE_RESOURCE_GROUP",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_KEY_VAULT_NAME",
    "AZURE_CLIENT_ID",
    "AZURE_OPENAI_ENDPOINT",
)

# Parsed templates: path relative to the template root -> pycep's dict for that file.
Templates = dict[str, dict[str, Any]]


def bicep_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.bicep"))


def parse_templates(root: Path) -> Templates:
    parser = BicepParser()
    return {
        path.relative_to(root).as_posix(): parser.parse(file_path=path)
        for path in bicep_files(root)
    }


# ---------------------------------------------------------------------------- tree walking


def walk(node: Any) -> Iterator[Any]:
    """Every value in a parsed subtree, depth first, the node itself included."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def entries(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of every object in a parsed subtree."""
    for item in walk(node):
        if isinstance(item, dict):
            yield from item.items()


def function_names(node: Any) -> set[str]:
    """Functions called in a subtree: pycep's snake_case types plus `x.f()` accessor names."""
    names: set[str] = set()
    for item in walk(node):
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        if isinstance(function, dict) and isinstance(function.get("type"), str):
            names.add(function["type"].replace("_", "").lower())
        operator = item.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "function_accessor":
            names.add(str(operator["operands"].get("func_name", "")).lower())
    return names


def identifiers(node: Any) -> list[str]:
    """Every bare string in a subtree, plus the expressions inside `${...}` interpolations."""
    found: list[str] = []
    for item in walk(node):
        if isinstance(item, str):
            found.append(item)
            found.extend(re.findall(r"\$\{([^}]*)\}", item))
    return found


def resources(templates: Templates, resource_type: str) -> Iterator[tuple[str, str, dict]]:
    """(file, symbolic name, body) of every resource of a type the templates create."""
    for path, parsed in templates.items():
        for symbol, resource in (parsed.get("resources") or {}).items():
            if resource.get("type", "").lower() != resource_type.lower():
                continue
            if resource.get("existing"):
                continue
            yield path, symbol, resource_body(resource)


def resource_body(resource: dict) -> dict:
    """The resource's object, unwrapped from a loop or an `if` condition."""
    body = resource.get("config") or {}
    while isinstance(body.get("config"), dict) and ("loop_type" in body or "condition" in body):
        body = body["config"]
    return body


def get_ci(mapping: Any, key: str) -> Any:
    """A key looked up case-insensitively (ARM property names are case-insensitive)."""
    if not isinstance(mapping, dict):
        return None
    for name, value in mapping.items():
        if name.lower() == key.lower():
            return value
    return None


def nondeterministic(node: Any, parameters: dict) -> bool:
    """True if a value changes between deployments (utcNow, newGuid, or a param seeded by them)."""
    if function_names(node) & {"utcnow", "newguid"}:
        return True
    if any(re.search(r"\b(utcNow|newGuid)\s*\(", text) for text in identifiers(node)):
        return True
    for name in identifiers(node):
        parameter = parameters.get(name)
        if parameter and nondeterministic(parameter.get("default"), {}):
            return True
    return False


def unquoted_keys(node: Any) -> Any:
    """pycep keeps the quotes of quoted object keys ('azd-env-name'); drop them."""
    if not isinstance(node, dict):
        return node
    return {key.strip("'"): value for key, value in node.items()}


# ------------------------------------------------------------------------ property checks


def check_no_shared_key_access(templates: Templates) -> list[str]:
    """No object anywhere turns shared-key (account key) access on."""
    return [
        f"{path}: allowSharedKeyAccess is {value!r}"
        for path, parsed in templates.items()
        for key, value in entries(parsed)
        if key.lower() == "allowsharedkeyaccess" and value is not False
    ]


def check_storage_accounts(templates: Templates) -> list[str]:
    """Storage accounts: shared keys off, TLS 1.2 minimum, no anonymous blob access."""
    problems: list[str] = []
    accounts = list(resources(templates, "Microsoft.Storage/storageAccounts"))
    if not accounts:
        return ["no storage account is created"]
    for path, symbol, body in accounts:
        properties = get_ci(body, "properties") or {}
        if get_ci(properties, "allowSharedKeyAccess") is not False:
            problems.append(f"{path}: {symbol} does not set allowSharedKeyAccess: false")
        if get_ci(properties, "minimumTlsVersion") != "TLS1_2":
            problems.append(f"{path}: {symbol} does not set minimumTlsVersion: 'TLS1_2'")
        if get_ci(properties, "allowBlobPublicAccess") is not False:
            problems.append(f"{path}: {symbol} does not set allowBlobPublicAccess: false")
    return problems


SECRET_NAME = re.compile(r"secret|password|passwd|token|credential|connection_?string|key", re.I)
SECRET_VALUE = re.compile(r"secret|password|connectionstring|key", re.I)
SECRET_LITERAL = re.compile(r"AccountKey=|SharedAccessKey=|Password=", re.I)


def _without_key_vault(text: str) -> str:
    # The vault's name and URI are not secrets, though "key" is in them.
    return re.sub(r"key_?vault", "", text, flags=re.I)


def check_outputs_not_secret(templates: Templates) -> list[str]:
    """No output whose name or value looks like a secret."""
    problems: list[str] = []
    for path, parsed in templates.items():
        for name, output in (parsed.get("outputs") or {}).items():
            where = f"{path}: output {name}"
            value = output.get("value")
            if SECRET_NAME.search(_without_key_vault(name)):
                problems.append(f"{where} is named like a secret")
            if any(d.get("type") == "secure" for d in output.get("decorators") or []):
                problems.append(f"{where} is @secure: secrets do not belong in outputs")
            called = {f for f in function_names(value) if f.startswith("list") or f == "getsecret"}
            if called:
                problems.append(f"{where} calls {', '.join(sorted(called))}")
            texts = [_without_key_vault(text) for text in identifiers(value)]
            if any(re.search(r"\b(list\w*|getSecret)\s*\(", text) for text in texts):
                problems.append(f"{where} calls a list*/getSecret function")
            if any(SECRET_LITERAL.search(text) for text in texts):
                problems.append(f"{where} embeds a key or password literal")
            exposed = [text for text in texts if SECRET_VALUE.search(text)]
            if exposed:
                problems.append(f"{where} exposes {exposed[0]!r}")
    return problems


def check_no_account_keys(templates: Templates) -> list[str]:
    """Nothing reads account keys or builds key-based connection strings."""
    problems: list[str] = []
    for path, parsed in templates.items():
        called = sorted(f for f in function_names(parsed) if f.startswith("list"))
        if called:
            problems.append(f"{path}: calls {', '.join(called)}")
        for text in identifiers(parsed):
            if re.search(r"\blist\w*\s*\(", text) or SECRET_LITERAL.search(text):
                problems.append(f"{path}: {text!r}")
            if re.search(r"DefaultEndpointsProtocol=|UseDevelopmentStorage", text):
                problems.append(f"{path}: storage connection string {text!r}")
    return problems


def check_role_assignment_names(templates: Templates) -> list[str]:
    """Every role assignment is named guid(<scope>.id, <principal id>, <role definition id>).

    The same inputs give the same name on every deployment, so a redeployment updates the
    assignment instead of failing with RoleAssignmentExists.
    """
    problems: list[str] = []
    assignments = list(resources(templates, "Microsoft.Authorization/roleAssignments"))
    if not assignments:
        return ["no role assignment is created"]
    for path, symbol, body in assignments:
        where = f"{path}: role assignment {symbol}"
        name = body.get("name")
        function = name.get("function") if isinstance(name, dict) else None
        if not function or function.get("type") != "guid":
            problems.append(f"{where} is not named with guid(...): {name!r}")
            continue
        arguments = [a for a in (function.get("parameters") or {}).values() if a is not None]
        if nondeterministic(arguments, templates[path].get("parameters") or {}):
            problems.append(f"{where} has a name that changes per deployment (utcNow/newGuid)")
            continue
        scope = arguments[0] if arguments else None
        operator = scope.get("operator", {}) if isinstance(scope, dict) else {}
        if operator.get("type") != "property_accessor" or operator["operands"]["operand_2"] != "id":
            problems.append(f"{where}: the first guid() argument is not a scope's .id")
        texts = " ".join(identifiers(arguments[1:])).lower()
        if "principal" not in texts or "role" not in texts:
            problems.append(f"{where}: guid() does not include the principal id and the role id")
    return problems


def app_settings(templates: Templates) -> dict[str, list[Any]]:
    """App settings by name -> values found, from every file's variables (setting objects)
    and from the sites' siteConfig.appSettings ({name, value} pairs)."""
    scopes: list[Any] = [parsed.get("variables") or {} for parsed in templates.values()]
    for _, _, site in resources(templates, "Microsoft.Web/sites"):
        scopes.append(get_ci(get_ci(get_ci(site, "properties"), "siteConfig"), "appSettings"))
    settings: dict[str, list[Any]] = {}
    for item in walk(scopes):
        if not isinstance(item, dict):
            continue
        if set(item) == {"name", "value"} and isinstance(item["name"], str):
            settings.setdefault(item["name"], []).append(item["value"])
        else:
            for key, value in item.items():
                settings.setdefault(key, []).append(value)
    return settings


def check_identity_based_storage(templates: Templates) -> list[str]:
    """The app reaches AzureWebJobsStorage with its managed identity, never a connection string."""
    settings = app_settings(templates)
    problems: list[str] = []
    uris = [f"AzureWebJobsStorage__{s}ServiceUri" for s in ("blob", "queue", "table")]
    if "AzureWebJobsStorage__accountName" not in settings and not all(u in settings for u in uris):
        problems.append("no AzureWebJobsStorage__accountName (or blob/queue/table service URIs)")
    if settings.get("AzureWebJobsStorage__credential") != ["managedidentity"]:
        problems.append("AzureWebJobsStorage__credential is not 'managedidentity'")
    if not settings.get("AzureWebJobsStorage__clientId"):
        problems.append("no AzureWebJobsStorage__clientId (the user-assigned identity)")
    for name in settings:
        if name == "AzureWebJobsStorage" or re.fullmatch(
            r"AzureWebJobsStorage__\w*connection\w*", name, re.I
        ):
            problems.append(f"app setting {name} would hold a storage connection string")
    return problems


def check_local_auth_disabled(templates: Templates) -> list[str]:
    """Application Insights, Log Analytics and Azure OpenAI accept Entra ID tokens only."""
    problems: list[str] = []
    where_to_look = {
        "Microsoft.Insights/components": ("properties", "DisableLocalAuth"),
        "Microsoft.OperationalInsights/workspaces": ("properties", "features", "disableLocalAuth"),
        "Microsoft.CognitiveServices/accounts": ("properties", "disableLocalAuth"),
    }
    for resource_type, route in where_to_look.items():
        found = list(resources(templates, resource_type))
        if not found and resource_type != "Microsoft.CognitiveServices/accounts":
            problems.append(f"no {resource_type} is created")
        for path, symbol, body in found:
            value: Any = body
            for key in route:
                value = get_ci(value, key)
            if value is not True:
                problems.append(f"{path}: {symbol} does not set {'.'.join(route)}: true")
    return problems


def check_key_vault(templates: Templates) -> list[str]:
    """Key Vaults: RBAC authorization, soft delete and purge protection."""
    problems: list[str] = []
    vaults = list(resources(templates, "Microsoft.KeyVault/vaults"))
    if not vaults:
        return ["no Key Vault is created"]
    for path, symbol, body in vaults:
        properties = get_ci(body, "properties") or {}
        for flag in ("enableRbacAuthorization", "enableSoftDelete", "enablePurgeProtection"):
            if get_ci(properties, flag) is not True:
                problems.append(f"{path}: {symbol} does not set {flag}: true")
    return problems


def check_required_roles(templates: Templates) -> list[str]:
    text = {s.lower() for parsed in templates.values() for s in identifiers(parsed)}
    joined = " ".join(text)
    return [
        f"role {role} ({role_id}) is never assigned"
        for role, role_id in REQUIRED_ROLE_IDS.items()
        if role_id not in joined
    ]


# App Service Authentication (Easy Auth, authsettingsV2): main.bicep's switch and the app
# registration's client id, as the parameters that must drive it.
AUTH_SWITCH = "enableAppServiceAuth"
AUTH_CLIENT_ID = "authClientId"
# Properties of the Entra ID registration that would hold (or point at) a client secret.
SECRET_REGISTRATION_KEYS = {
    "clientsecretsettingname",
    "clientsecretcertificatethumbprint",
    "clientsecretcertificatesubjectalternativename",
    "clientsecretcertificateissuer",
}


def module_includers(templates: Templates, path: str) -> Iterator[tuple[str, dict]]:
    """(file, module) for every module declaration, in any template, that deploys `path`."""
    for parent, parsed in templates.items():
        for module in (parsed.get("modules") or {}).values():
            target = (module.get("detail") or {}).get("path", "")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(parent), target))
            if resolved == path:
                yield parent, module


def parameter_sources(templates: Templates, path: str, name: str) -> set[str]:
    """The main.bicep parameters that parameter `name` of template `path` is passed through from,
    module by module; an expression, a literal or a missing value shows up as '<...>'. In a
    module deployed `if (c)`, a value `c ? a : b` counts as `a`."""
    parameters = templates.get(path, {}).get("parameters") or {}
    if name not in parameters:
        return {f"<{name} is not a parameter of {path}>"}
    if path == "main.bicep":
        return {name}
    sources: set[str] = set()
    for parent, module in module_includers(templates, path):
        value = (resource_body(module).get("params") or {}).get(name)
        operator = value.get("operator", {}) if isinstance(value, dict) else {}
        condition = (module.get("config") or {}).get("condition")
        if operator.get("type") == "conditional" and operator["operands"]["condition"] == condition:
            # `c ? a : b` in a module deployed only `if (c)`: b is never used.
            value = operator["operands"]["true_value"]
        if value is None:
            # Not passed: the module's default applies.
            sources.add(f"<default of {name} in {path}>")
        elif isinstance(value, str) and value in (templates[parent].get("parameters") or {}):
            sources |= parameter_sources(templates, parent, value)
        else:
            sources.add(f"<{value!r} from {parent}>")
    return sources or {f"<{path} is deployed by no module>"}


def deployment_conditions(templates: Templates, path: str, resource: dict) -> list[set[str]]:
    """For each way a resource of `path` gets deployed, the main.bicep parameters its `if (...)`
    conditions (on the resource itself or on the modules leading to it) are passed through from.
    An unconditional way gives an empty set."""
    own = (resource.get("config") or {}).get("condition")
    if own is not None:
        return [condition_sources(templates, path, own)]
    if path == "main.bicep":
        return [set()]
    ways: list[set[str]] = []
    for parent, module in module_includers(templates, path):
        condition = (module.get("config") or {}).get("condition")
        if condition is not None:
            ways.append(condition_sources(templates, parent, condition))
        else:
            ways.extend(deployment_conditions(templates, parent, module))
    return ways


def condition_sources(templates: Templates, path: str, condition: Any) -> set[str]:
    if isinstance(condition, str):
        return parameter_sources(templates, path, condition)
    return {f"<condition {condition!r} in {path}>"}


def auth_settings(templates: Templates) -> list[tuple[str, str, dict, dict]]:
    """(file, symbol, resource, body) of every authsettingsV2 config the templates create."""
    found = []
    for path, parsed in templates.items():
        for symbol, resource in (parsed.get("resources") or {}).items():
            body = resource_body(resource)
            if (
                resource.get("type", "").lower() == "microsoft.web/sites/config"
                and not resource.get("existing")
                and str(body.get("name", "")).lower() == "authsettingsv2"
            ):
                found.append((path, symbol, resource, body))
    return found


def resolve(parsed: dict, value: Any) -> Any:
    """A value with a bare variable name replaced by that variable's value (one level)."""
    variables = parsed.get("variables") or {}
    if isinstance(value, str) and value in variables:
        return variables[value]["value"]
    return value


def check_app_service_auth(templates: Templates) -> list[str]:
    """Easy Auth, token validation only: deployed only when main.bicep's enableAppServiceAuth is
    true, anonymous requests allowed through, the Entra ID provider on the authClientId
    registration with a v2.0 issuer, and no client secret."""
    configs = auth_settings(templates)
    if len(configs) != 1:
        return [f"expected one authsettingsV2 config, found {len(configs)}"]
    [(path, symbol, resource, body)] = configs
    where = f"{path}: {symbol}"
    parsed = templates[path]
    problems: list[str] = []

    for sources in deployment_conditions(templates, path, resource) or [set()]:
        if sources != {AUTH_SWITCH}:
            shown = ", ".join(sorted(sources)) or "nothing"
            problems.append(f"{where} is deployed on {shown}, not only on main.bicep {AUTH_SWITCH}")

    properties = get_ci(body, "properties") or {}
    if get_ci(get_ci(properties, "platform"), "enabled") is not True:
        problems.append(f"{where} does not set platform.enabled: true")
    validation = get_ci(properties, "globalValidation") or {}
    if get_ci(validation, "requireAuthentication") is not False:
        problems.append(f"{where} does not set globalValidation.requireAuthentication: false")
    if get_ci(validation, "unauthenticatedClientAction") != "AllowAnonymous":
        problems.append(f"{where} does not let unauthenticated requests through (AllowAnonymous)")

    providers = get_ci(properties, "identityProviders") or {}
    others = sorted(k for k, v in providers.items() if k != "azureActiveDirectory" and v)
    if others:
        problems.append(f"{where} configures other identity providers: {', '.join(others)}")
    entra = get_ci(providers, "azureActiveDirectory") or {}
    if get_ci(entra, "enabled") is not True:
        problems.append(f"{where} does not enable the azureActiveDirectory provider")
    registration = get_ci(entra, "registration") or {}
    client_id = get_ci(registration, "clientId")
    if not isinstance(client_id, str) or parameter_sources(templates, path, client_id) != {
        AUTH_CLIENT_ID
    }:
        problems.append(f"{where}: registration.clientId is not main.bicep {AUTH_CLIENT_ID}")
    secrets = sorted(k for k in registration if k.lower() in SECRET_REGISTRATION_KEYS)
    if secrets or any("secret" in key.lower() for key, _ in entries(entra)):
        problems.append(f"{where}: the Entra ID provider refers to a client secret {secrets}")
    issuer = resolve(parsed, get_ci(registration, "openIdIssuer"))
    if not (isinstance(issuer, str) and issuer.endswith("/v2.0") and "${" in issuer):
        problems.append(f"{where}: openIdIssuer {issuer!r} is not a tenant's v2.0 issuer")
    if get_ci(get_ci(entra, "validation"), "allowedAudiences") is None:
        problems.append(f"{where} sets no validation.allowedAudiences")
    if get_ci(get_ci(get_ci(properties, "login"), "tokenStore"), "enabled") is True:
        problems.append(f"{where} turns the token store on; nothing signs in")
    return problems


PROPERTY_CHECKS: list[Callable[[Templates], list[str]]] = [
    check_no_shared_key_access,
    check_storage_accounts,
    check_outputs_not_secret,
    check_no_account_keys,
    check_role_assignment_names,
    check_identity_based_storage,
    check_local_auth_disabled,
    check_key_vault,
    check_required_roles,
    check_app_service_auth,
]


def check_parameters_file(parameters_file: Path, main: dict[str, Any]) -> list[str]:
    """azd's parameters file names only declared parameters and sets every required one."""
    supplied = set(json.loads(parameters_file.read_text(encoding="utf-8"))["parameters"])
    declared = main.get("parameters") or {}
    required = {name for name, param in declared.items() if param.get("default") is None}
    return [
        f"{name} is not a parameter of main.bicep" for name in sorted(supplied - set(declared))
    ] + [f"required parameter {name} is not set" for name in sorted(required - supplied)]


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def infra() -> Templates:
    return parse_templates(INFRA)


@pytest.fixture(scope="module")
def broken() -> Templates:
    return parse_templates(BROKEN)


# --------------------------------------------------------------------------- syntax gates

BICEP_FILES = bicep_files(INFRA)
_tree_sitter = Parser(Language(tree_sitter_bicep.language()))


def test_infra_has_a_main_template_and_modules() -> None:
    assert (INFRA / "main.bicep") in BICEP_FILES
    assert len(BICEP_FILES) > 1, "expected modules under infra/modules/"


def syntax_errors(path: Path) -> list[str]:
    source = path.read_bytes()
    lines = source.decode("utf-8").splitlines()
    errors: list[str] = []
    stack = [_tree_sitter.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, column = node.start_point
            kind = f"missing {node.type}" if node.is_missing else "syntax error"
            text = lines[row].strip() if row < len(lines) else ""
            errors.append(f"{path.relative_to(REPO)}:{row + 1}:{column + 1}: {kind} near {text!r}")
        stack.extend(node.children)
    return sorted(errors)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_tree_sitter_parses(path: Path) -> None:
    errors = syntax_errors(path)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_pycep_parses(path: Path) -> None:
    try:
        BicepParser().parse(file_path=path)
    except Exception as error:  # lark raises several unrelated exception types
        pytest.fail(f"{path.relative_to(REPO)}: pycep-parser cannot parse it: {error}")


# Constructs one of the offline readers cannot parse (pycep-parser 0.7.1 in this suite,
# pycep-parser 0.5.1 inside checkov, tree-sitter-bicep): a file checkov cannot parse is
# skipped unchecked, so these are kept out of infra/ altogether.
UNREADABLE = {
    "user-defined type": re.compile(r"^\s*(@export\(\)\s*)?type\s+\w+\s*="),
    "lambda": re.compile(r"=>"),
    "import": re.compile(r"^\s*import\s"),
    "extension": re.compile(r"^\s*extension\s"),
    "spread": re.compile(r"\.\.\.\w"),
    "from-end index": re.compile(r"\[\^\d+\]"),
    "resourceInput<>": re.compile(r"resourceInput<"),
    "loop filter written 'if (' (write 'if(')": re.compile(r"\[for\b.*:\s*if\s+\("),
    "call whose arguments start on the next line": re.compile(r"\w\($"),
    "multi-line ternary": re.compile(r"^\s*[?:]\s"),
}


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_bicep_avoids_constructs_offline_tools_cannot_read(path: Path) -> None:
    found = [
        f"{path.relative_to(REPO)}:{number}: {construct}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("//")
        for construct, pattern in UNREADABLE.items()
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


def test_no_bicepparam_files() -> None:
    assert not list(INFRA.rglob("*.bicepparam")), "no offline tool reads .bicepparam"


# ---------------------------------------------------------------------- parameters (azd)


def test_parameters_file_matches_main(infra: Templates) -> None:
    assert check_parameters_file(INFRA / "main.parameters.json", infra["main.bicep"]) == []


def test_parameters_file_uses_azd_substitution(infra: Templates) -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    values = {name: entry["value"] for name, entry in parameters["parameters"].items()}
    assert values["environmentName"] == "${AZURE_ENV_NAME}"
    assert values["location"] == "${AZURE_LOCATION}"
    assert values["principalId"] == "${AZURE_PRINCIPAL_ID}"
    declared = infra["main.bicep"]["parameters"]
    for name, value in values.items():
        match = re.fullmatch(r"\$\{(\w+)(?:=([^}]*))?\}", value)
        assert match, f"{name}: {value!r} is not an azd ${{VAR}} or ${{VAR=default}} substitution"
        default = declared[name]["default"]
        if match[2] is not None:
            # An unset variable must deploy what main.bicep would deploy on its own.
            expected = str(default).lower() if isinstance(default, bool) else str(default)
            assert match[2] == expected, (
                f"{name}: azd default {match[2]!r}, Bicep default {default!r}"
            )
        elif declared[name]["type"] != "string":
            pytest.fail(f"{name}: an unset {match[1]} would pass '' to a {declared[name]['type']}")


def test_every_parameter_is_described_and_bounded(infra: Templates) -> None:
    bounds = {"allowed", "min_length", "max_length", "min_value", "max_value"}
    problems = []
    for path, parsed in infra.items():
        for name, parameter in (parsed.get("parameters") or {}).items():
            decorators = {d["type"] for d in parameter.get("decorators") or []}
            if "description" not in decorators:
                problems.append(f"{path}: {name} has no @description")
            if path == "main.bicep" and parameter["type"] != "bool" and not decorators & bounds:
                problems.append(
                    f"{path}: {name} has no @allowed/@minLength/@maxLength/@minValue/@maxValue"
                )
    assert not problems, "\n".join(problems)
    environment = infra["main.bicep"]["parameters"]["environmentName"]
    assert {"min_length", "max_length"} <= {d["type"] for d in environment["decorators"]}


# ------------------------------------------------------------------- security properties


@pytest.mark.parametrize("check", PROPERTY_CHECKS, ids=lambda check: check.__name__)
def test_infra_property(check: Callable[[Templates], list[str]], infra: Templates) -> None:
    problems = check(infra)
    assert not problems, "\n".join(problems)


def test_broken_copy_is_valid_bicep() -> None:
    for path in bicep_files(BROKEN):
        assert not syntax_errors(path)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (check_no_shared_key_access, [r"modules/storage\.bicep: allowSharedKeyAccess is True"]),
        (check_storage_accounts, [r"storage does not set allowSharedKeyAccess: false"]),
        (
            check_outputs_not_secret,
            [
                r"main\.bicep: output STORAGE_SECRET is named like a secret",
                r"modules/storage\.bicep: output accountKey .*listkeys",
            ],
        ),
        (check_no_account_keys, [r"modules/storage\.bicep: calls listkeys"]),
        (
            check_role_assignment_names,
            [r"storage-access\.bicep: role assignment tableContributor .*utcNow"],
        ),
    ],
    ids=lambda value: value.__name__ if callable(value) else "",
)
def test_broken_copy_violations_are_detected(
    check: Callable[[Templates], list[str]], expected: list[str], broken: Templates
) -> None:
    problems = check(broken)
    for pattern in expected:
        assert any(re.search(pattern, problem) for problem in problems), (pattern, problems)


def test_broken_parameters_file_is_detected(broken: Templates) -> None:
    problems = check_parameters_file(BROKEN / "main.parameters.json", broken["main.bicep"])
    assert problems == [
        "notDeclared is not a parameter of main.bicep",
        "required parameter environmentName is not set",
    ]


def test_nondeterministic_parameter_default_is_caught() -> None:
    parsed = BicepParser().parse(
        text="""
param principalId string
param stamp string = utcNow()
resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'st'
}
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(st.id, principalId, stamp)
  scope: st
  properties: {
    roleDefinitionId: 'role'
    principalId: principalId
  }
}
"""
    )
    problems = check_role_assignment_names({"inline.bicep": parsed})
    assert any("changes per deployment" in problem for problem in problems), problems


# ----------------------------------------------------------- wiring the app depends on


def test_required_outputs(infra: Templates) -> None:
    outputs = infra["main.bicep"]["outputs"]
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    assert not missing
    assert outputs["AZURE_FUNCTION_APP_URL"]["value"].startswith("https://${")


def test_every_top_level_resource_is_tagged(infra: Templates) -> None:
    untagged = [
        f"{path}: {symbol}"
        for path, parsed in infra.items()
        for symbol, resource in (parsed.get("resources") or {}).items()
        if not resource.get("existing")
        and resource["type"].count("/") == 1  # child and extension resources take no tags
        and not resource["type"].startswith("Microsoft.Authorization/")
        and "tags" not in resource_body(resource)
    ]
    assert not untagged
    [(_, _, site)] = resources(infra, "Microsoft.Web/sites")
    site_tags = [unquoted_keys(arg) for arg in site["tags"]["function"]["parameters"].values()]
    assert {"azd-service-name": "serviceName"} in site_tags
    tags = unquoted_keys(infra["main.bicep"]["variables"]["tags"]["value"])
    assert tags == {"azd-env-name": "environmentName"}


def test_function_app_is_flex_consumption_python_311(infra: Templates) -> None:
    [(_, _, plan)] = resources(infra, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    [(_, _, site)] = resources(infra, "Microsoft.Web/sites")
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    deployment_storage = config["deployment"]["storage"]
    assert deployment_storage["type"] == "blobContainer"
    assert deployment_storage["authentication"]["type"] == "UserAssignedIdentity"
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["httpsOnly"] is True
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_durable_always_ready_group(infra: Templates) -> None:
    parsed = infra["modules/function-app.bicep"]
    [always_ready] = parsed["variables"]["durableAlwaysReady"]["value"]
    assert always_ready["name"] == "durable"
    default = infra["main.bicep"]["parameters"]["durableAlwaysReadyInstances"]["default"]
    assert default in (0, 1)


def test_app_insights_uses_entra_id_authentication(infra: Templates) -> None:
    settings = app_settings(infra)
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == [
        "ClientId=${identityClientId};Authorization=AAD"
    ]


def test_api_keys_come_from_key_vault_references(infra: Templates) -> None:
    texts = identifiers(infra["modules/function-app.bicep"])
    assert any(
        t.startswith("@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=") for t in texts
    )


def test_durable_task_scheduler_overrides_host_json(infra: Templates) -> None:
    variables = infra["main.bicep"]["variables"]
    settings = variables["durableTaskSchedulerSettings"]["value"]
    prefix = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
    assert settings[f"{prefix}type"] == "azureManaged"
    assert settings[f"{prefix}connectionStringName"] == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    connection = variables[settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]]["value"]
    assert re.fullmatch(
        r"Endpoint=\$\{[^}]+\};Authentication=ManagedIdentity;ClientID=\$\{[^}]+\}", connection
    )


def test_task_hub_matches_host_json(infra: Templates) -> None:
    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))
    hub = host["extensions"]["durableTask"]["hubName"]
    assert infra["main.bicep"]["parameters"]["taskHubName"]["default"] == hub


def test_app_settings_named_by_triggers_are_set(infra: Templates) -> None:
    """A trigger argument like "%HAYMAKER_SCHEDULER_CRON%" must be an app setting, or the
    host cannot index the function and the app does not start."""
    settings = app_settings(infra)
    referenced = {
        name
        for folder in ("api", "activities", "orchestrators")
        for source in sorted((REPO / folder).glob("*.py"))
        for name in re.findall(r"[\"']%(\w+)%[\"']", source.read_text(encoding="utf-8"))
    }
    assert not sorted(referenced - set(settings))


def test_azd_service_matches_the_function_app_tag(infra: Templates) -> None:
    azure_yaml = (REPO / "azure.yaml").read_text(encoding="utf-8")
    assert re.search(r"^services:\n  api:\n", azure_yaml, re.M)
    for key in ("project: .", "language: python", "host: function", "path: infra"):
        assert key in azure_yaml
    service = infra["modules/function-app.bicep"]["parameters"]["serviceName"]["default"]
    assert service == "api"


# ------------------------------------------------------ App Service Authentication (Easy Auth)


def test_app_service_auth_is_token_validation_only(infra: Templates) -> None:
    [(path, _, resource, body)] = auth_settings(infra)
    assert path == "modules/app-auth.bicep"
    assert resource["type"] == "Microsoft.Web/sites/config"
    assert body["parent"] == "site"
    # Deployed only through function-app.bicep's `if (enableAppServiceAuth)` module, whose
    # switch main.bicep passes straight through.
    assert deployment_conditions(infra, path, resource) == [{AUTH_SWITCH}]
    [(_, module)] = module_includers(infra, path)
    assert module["config"]["condition"] == AUTH_SWITCH
    [(_, function_app)] = module_includers(infra, "modules/function-app.bicep")
    assert resource_body(function_app)["params"][AUTH_SWITCH] == AUTH_SWITCH

    properties = body["properties"]
    assert properties["platform"]["enabled"] is True
    assert properties["globalValidation"] == {
        "requireAuthentication": False,
        "unauthenticatedClientAction": "AllowAnonymous",
    }
    assert properties["httpSettings"]["requireHttps"] is True
    assert list(properties["identityProviders"]) == ["azureActiveDirectory"]
    entra = properties["identityProviders"]["azureActiveDirectory"]
    assert entra["enabled"] is True
    # Token validation only: the registration names the client id and the issuer, no secret.
    assert set(entra["registration"]) == {"clientId", "openIdIssuer"}
    assert parameter_sources(infra, path, entra["registration"]["clientId"]) == {AUTH_CLIENT_ID}
    variables = infra[path]["variables"]
    issuer = variables[entra["registration"]["openIdIssuer"]]["value"]
    assert issuer == "${environment().authentication.loginEndpoint}${tenantId}/v2.0"
    assert parameter_sources(infra, path, "tenantId") == {
        "<'effectiveAuthTenantId' from main.bicep>"
    }
    assert properties["login"]["tokenStore"]["enabled"] is False


def test_allowed_audiences_default_to_the_application_id_uri(infra: Templates) -> None:
    [(path, _, _, body)] = auth_settings(infra)
    variables = infra[path]["variables"]
    audiences = body["properties"]["identityProviders"]["azureActiveDirectory"]["validation"]
    chosen = variables[audiences["allowedAudiences"]]["value"]["operator"]
    assert chosen["type"] == "conditional"
    assert chosen["operands"]["condition"]["function"] == {
        "type": "empty",
        "parameters": {"item_to_test": "allowedAudiences"},
    }
    assert variables[chosen["operands"]["true_value"]]["value"] == ["api://${clientId}"]
    assert chosen["operands"]["false_value"] == "allowedAudiences"
    assert parameter_sources(infra, path, "allowedAudiences") == {"authAllowedAudiences"}


def test_auth_parameters(infra: Templates) -> None:
    parameters = infra["main.bicep"]["parameters"]
    assert parameters[AUTH_SWITCH]["type"] == "bool"
    assert parameters[AUTH_SWITCH]["default"] is False
    assert parameters[AUTH_CLIENT_ID]["default"] == ""
    assert parameters["authAllowedAudiences"]["type"] == "array"
    assert parameters["authAllowedAudiences"]["default"] == []
    tenant = parameters["authTenantId"]["default"]["operator"]["operands"]
    assert tenant == {"operand_1": {"function": {"type": "tenant"}}, "operand_2": "tenantId"}
    # An unset AUTH_TENANT_ID reaches Bicep as '': that means this deployment's tenant too.
    effective = infra["main.bicep"]["variables"]["effectiveAuthTenantId"]["value"]["operator"]
    assert effective["operands"]["condition"]["function"]["type"] == "empty"
    assert effective["operands"]["false_value"] == "authTenantId"
    # authClientId may be empty while the switch is off; the module deployed when it is on
    # takes exactly a GUID's length, so an empty client id fails validation.
    client_id = infra["modules/app-auth.bicep"]["parameters"]["clientId"]
    assert {"type": "min_length", "argument": 36} in client_id["decorators"]
    assert {"type": "max_length", "argument": 36} in client_id["decorators"]
    assert "default" not in client_id or client_id["default"] is None
    # While the switch is off, the skipped module still gets a well-formed placeholder.
    [(_, module)] = module_includers(infra, "modules/app-auth.bicep")
    passed = resource_body(module)["params"]["clientId"]["operator"]
    assert passed["type"] == "conditional"
    assert passed["operands"]["condition"] == AUTH_SWITCH
    assert passed["operands"]["true_value"] == AUTH_CLIENT_ID
    assert re.fullmatch(r"[0-9a-f-]{36}", passed["operands"]["false_value"])

    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values[AUTH_SWITCH]["value"] == "${ENABLE_APP_SERVICE_AUTH=false}"
    assert values[AUTH_CLIENT_ID]["value"] == "${AUTH_CLIENT_ID=}"
    assert values["authTenantId"]["value"] == "${AUTH_TENANT_ID}"


def test_auth_mode_setting_follows_the_switch(infra: Templates) -> None:
    assert app_settings(infra)["HAYMAKER_AUTH_MODE"] == [
        {
            "operator": {
                "type": "conditional",
                "operands": {
                    "condition": AUTH_SWITCH,
                    "true_value": "easyauth",
                    "false_value": "off",
                },
            }
        }
    ]
    # ... and reaches the site: haymakerSettings -> llmSettings -> appSettings -> the module.
    variables = infra["main.bicep"]["variables"]
    assert "HAYMAKER_AUTH_MODE" in variables["haymakerSettings"]["value"]
    assert "haymakerSettings" in identifiers(variables["llmSettings"]["value"])
    assert "llmSettings" in identifiers(variables["appSettings"]["value"])
    [(_, function_app)] = module_includers(infra, "modules/function-app.bicep")
    assert resource_body(function_app)["params"]["appSettings"] == "appSettings"


AUTH_MAIN = """
param enableAppServiceAuth bool = false
param authClientId string = ''
module auth 'modules/auth.bicep' = if (enableAppServiceAuth) {
  name: 'auth'
  params: {
    siteName: 'func-x'
    clientId: authClientId
  }
}
"""
AUTH_MODULE = """
param siteName string
param clientId string
resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}
var issuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: issuer
        }
        validation: {
          allowedAudiences: [
            'api://${clientId}'
          ]
        }
      }
    }
  }
}
"""


def auth_templates(old: str = "", new: str = "") -> Templates:
    parser = BicepParser()
    return {
        "main.bicep": parser.parse(text=AUTH_MAIN.replace(old, new) if old else AUTH_MAIN),
        "modules/auth.bicep": parser.parse(
            text=AUTH_MODULE.replace(old, new) if old else AUTH_MODULE
        ),
    }


def test_auth_check_accepts_the_minimal_form() -> None:
    assert check_app_service_auth(auth_templates()) == []
    # A placeholder for when the (skipped) module is off is fine too.
    placeholder = "enableAppServiceAuth ? authClientId : '00000000-0000-0000-0000-000000000000'"
    templates = auth_templates("clientId: authClientId", f"clientId: {placeholder}")
    assert check_app_service_auth(templates) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("= if (enableAppServiceAuth) {", "= {", r"deployed on nothing, not only on"),
        (
            "= if (enableAppServiceAuth) {",
            "= if (!empty(authClientId)) {",
            r"deployed on <condition .*, not only on",
        ),
        ("requireAuthentication: false", "requireAuthentication: true", r"requireAuth"),
        ("'AllowAnonymous'", "'Return401'", r"AllowAnonymous"),
        ("enabled: true\n    }", "enabled: false\n    }", r"platform\.enabled"),
        (
            "clientId: authClientId",
            "clientId: '00000000-0000-0000-0000-000000000000'",
            r"registration\.clientId is not main\.bicep authClientId",
        ),
        (
            "clientId: authClientId",
            "clientId: enableAppServiceAuth ? '00000000-0000-0000-0000-000000000000' : authClientId",
            r"registration\.clientId is not main\.bicep authClientId",
        ),
        (
            "openIdIssuer: issuer",
            "openIdIssuer: issuer\n          clientSecretSettingName: 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'",
            r"client secret \['clientSecretSettingName'\]",
        ),
        ("/v2.0'", "/'", r"not a tenant's v2\.0 issuer"),
        ("name: 'authsettingsV2'", "name: 'web'", r"expected one authsettingsV2 config, found 0"),
    ],
    ids=[
        "unconditional",
        "other-condition",
        "auth-required",
        "return-401",
        "platform-off",
        "literal-client-id",
        "placeholder-when-on",
        "client-secret",
        "v1-issuer",
        "missing",
    ],
)
def test_auth_check_catches(old: str, new: str, expected: str) -> None:
    problems = check_app_service_auth(auth_templates(old, new))
    assert any(re.search(expected, problem) for problem in problems), problems


def test_service_secrets_are_key_vault_references_and_mcp_servers_an_app_setting(
    infra: Templates,
) -> None:
    """docs/integrations.md: `serviceSecretSettings` joins the settings wired as Key Vault
    references; `mcpServers` becomes HAYMAKER_MCP_SERVERS only when it is given."""
    main = infra["main.bicep"]
    variables = main["variables"]
    assert "serviceSecretSettings" in identifiers(variables["apiKeySettings"]["value"])
    [(_, function_app)] = module_includers(infra, "modules/function-app.bicep")
    assert resource_body(function_app)["params"]["keyVaultSecretSettings"] == "apiKeySettings"
    assert "HAYMAKER_MCP_SERVERS" in variables["mcpServersSetting"]["value"]
    assert "mcpServersSetting" in identifiers(variables["llmSettings"]["value"])
    assert main["parameters"]["mcpServers"]["default"] == ""
    assert main["parameters"]["serviceSecretSettings"]["default"] == []


# ------------------------------------------------------------------------ lifecycle events


def test_event_grid_topic_is_parameter_gated_and_keyless(infra: Templates) -> None:
    """The topic exists only when deployEventGrid is on; it takes CloudEvents, refuses keys,
    and the app's identity may only send to it."""
    [(path, _, topic)] = resources(infra, "Microsoft.EventGrid/topics")
    assert path == "modules/event-grid.bicep"
    [module] = [m for _, m in module_includers(infra, path)]
    assert deployment_conditions(infra, path, {"config": {}}) == [{"deployEventGrid"}]
    assert infra["main.bicep"]["parameters"]["deployEventGrid"]["default"] is False
    properties = topic["properties"]
    assert properties["inputSchema"] == "CloudEventSchemaV1_0"
    assert properties["disableLocalAuth"] is True
    [(_, _, assignment)] = [
        r for r in resources(infra, "Microsoft.Authorization/roleAssignments") if r[0] == path
    ]
    assert assignment["scope"] == "topic"
    role = infra[path]["variables"]["dataSenderRoleId"]["value"]
    assert "d5a91429-5739-47e2-a06b-3470a27159e7" in json.dumps(role)
    # the app's own identity, the one it signs in with (AZURE_CLIENT_ID)
    passed = identifiers(resource_body(module)["params"]["principalId"])
    assert [t for t in passed if t != "property_accessor"] == ["identity", "outputs", "principalId"]


def test_the_app_gets_the_topic_endpoint_and_the_tracing_switch(infra: Templates) -> None:
    variables = infra["main.bicep"]["variables"]
    endpoint = variables["eventGridSettings"]["value"]["HAYMAKER_EVENTGRID_ENDPOINT"]
    names = identifiers(endpoint)
    assert {"deployEventGrid", "eventGrid", "outputs", "endpoint"} <= set(names)
    assert {"deployEventGrid", "eventGridSettings"} <= set(identifiers(variables["appSettings"]))
    assert variables["haymakerSettings"]["value"]["HAYMAKER_TRACING"] == "tracing"
    tracing = infra["main.bicep"]["parameters"]["tracing"]
    assert tracing["default"] == "off"
    [allowed] = [d for d in tracing["decorators"] if d["type"] == "allowed"]
    from haymaker.settings import Settings

    modes = Settings.model_fields["tracing"].annotation.__args__  # type: ignore[union-attr]
    assert set(allowed["argument"]) == set(modes)
