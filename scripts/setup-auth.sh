#!/usr/bin/env bash
# Entra ID app registration for the Haymaker API's App Service Authentication (infra/ with
# enableAppServiceAuth=true), and app role assignments.
#
#   scripts/setup-auth.sh [--dry-run] [--app-name NAME] [--web-host HOST]
#                         [--assign-role ROLE --to OBJECT_ID]
#
# What it does (every step is idempotent: it reads the registration first and writes only what
# is missing or different):
#   1. creates (or reuses, matched by exact display name) a single-tenant app registration, with
#      NO client secret: App Service validates tokens for it, and the dashboard's browser sign-in
#      uses the implicit flow, which needs none;
#   2. sets the identifier URI api://<appId> and v2.0 access tokens (requestedAccessTokenVersion
#      2), whose issuer https://login.microsoftonline.com/<tenant>/v2.0 is the one infra/ trusts;
#   3. defines the app roles Haymaker.Reader, Haymaker.Operator, Haymaker.Approver and
#      Haymaker.Admin (which the API treats as including the other three), assignable to
#      users and groups (User) and to service principals (Application). A new role's id is the
#      UUIDv5 of its name (the same on every run and in every tenant); a role that exists keeps its
#      id, and roles of other names on the registration are left as they are;
#   4. exposes the delegated scope user_impersonation and pre-authorizes the Azure CLI for it, so
#      `az account get-access-token --resource api://<appId>` (and the haymaker CLI's
#      --entra-scope api://<appId>/.default, through DefaultAzureCredential's az login) get a
#      token without a consent prompt. The token carries the caller's roles; the app decides;
#   5. with --web-host HOST (the function app's host name, e.g. func-abc.azurewebsites.net): adds
#      the web redirect URI https://HOST/.auth/login/aad/callback and ID token issuance, so a
#      browser signs in to the dashboard through App Service authentication (/.auth/login/aad);
#      other redirect URIs stay;
#   6. creates the service principal (enterprise application) that role assignments belong to;
#   7. with --assign-role ROLE --to OBJECT_ID: assigns ROLE to the user, group or service
#      principal with that object id, unless it already has it.
# It ends by printing AUTH_CLIENT_ID=<appId> and AUTH_TENANT_ID=<tenant> on stdout, for
# `azd env set AUTH_CLIENT_ID ...` (see docs/deploy.md, "Entra ID sign-in and roles").
#
# --dry-run prints every az command that would change something (prefixed DRY-RUN:) instead of
# running it. Read-only look-ups still run when az is installed and logged in, so the plan shows
# only what would change; without them, placeholders such as <app-client-id> are printed.
#
# Needs: az (logged in to the tenant, as someone who may create app registrations; assigning
# roles needs e.g. Cloud Application Administrator or ownership of the registration) and jq.
# Exit codes: 0 done, 1 an az command failed, 2 bad usage or missing prerequisites.
set -Eeuo pipefail
shopt -s inherit_errexit

readonly GRAPH="https://graph.microsoft.com/v1.0"
readonly AZURE_CLI_APP_ID="04b07795-8ddb-461a-bbee-02f9e1bf7b46" # Microsoft Azure CLI
# UUIDv5 namespace of this project's role and scope ids: uuid5(NAMESPACE_URL,
# "https://github.com/haymaker-functions/app-registration").
readonly ID_NAMESPACE="8decdfe3-3f92-5af1-afa2-8c1f16b1cdc1"
readonly ROLES=(Haymaker.Reader Haymaker.Operator Haymaker.Approver Haymaker.Admin)
readonly SCOPE_VALUE="user_impersonation"
RETRY_SECONDS=${SETUP_AUTH_RETRY_SECONDS:-10}
declare -A ROLE_DESCRIPTION=(
    [Haymaker.Reader]="Read workloads, deployments, schedules and their status."
    [Haymaker.Operator]="Deploy, stop, start and clean up workload deployments."
    [Haymaker.Approver]="Decide what deployments ask approval for, and raise exhausted budgets."
    [Haymaker.Admin]="Manage schedules and purge data."
)

usage() {
    cat <<'EOF'
usage: scripts/setup-auth.sh [--dry-run] [--app-name NAME] [--web-host HOST]
                             [--assign-role ROLE --to OBJECT_ID]

  --dry-run             print the az commands that would change something instead of running them
  --app-name NAME       display name of the API's app registration (default: haymaker-api)
  --web-host HOST       the function app's host name: lets browsers sign in to the dashboard
  --assign-role ROLE    app role to assign: Haymaker.Reader, Haymaker.Operator,
                        Haymaker.Approver or Haymaker.Admin
  --to OBJECT_ID        object id of the user, group or service principal that gets ROLE
                        (a user: az ad user show --id me@contoso.com --query id -o tsv;
                         an app: az ad sp show --id <appId> --query id -o tsv)
  -h, --help            show this help

Prints AUTH_CLIENT_ID=<appId> and AUTH_TENANT_ID=<tenant> on stdout.
EOF
}

USAGE_HINT="scripts/setup-auth.sh --help"
here=${BASH_SOURCE[0]%/*} # dirname without the dirname command (PATH may be bare)
if [[ $here == "${BASH_SOURCE[0]}" ]]; then here=.; fi
# shellcheck source=scripts/lib/cli.sh
source "$here/lib/cli.sh"
# A failed az (or jq) call ends the script with 1, whatever the tool's own code: 2 means usage.
trap 'printf "error: command failed (line %s)\n" "$LINENO" >&2; exit 1' ERR

# uuid5 NAMESPACE NAME: the RFC 4122 version-5 (SHA-1, name-based) UUID.
sha1_hex() {
    if command -v sha1sum >/dev/null 2>&1; then sha1sum; else shasum -a 1; fi
}
uuid5() {
    local namespace=${1//-/} bytes="" i hash variant
    for ((i = 0; i < 32; i += 2)); do bytes+="\\x${namespace:i:2}"; done
    hash=$({
        printf '%b' "$bytes"
        printf '%s' "$2"
    } | sha1_hex)
    variant=$(((16#${hash:16:1} & 3) | 8))
    printf '%s-%s-5%s-%x%s-%s\n' "${hash:0:8}" "${hash:8:4}" "${hash:13:3}" "$variant" \
        "${hash:17:3}" "${hash:20:12}"
}

# ---------------------------------------------------------------------------------------------
# Arguments

APP_NAME="haymaker-api"
WEB_HOST=""
ASSIGN_ROLE=""
ASSIGN_TO=""

while (($#)); do
    case $1 in
    --dry-run) DRY_RUN=1 ;;
    --app-name)
        need_value "$@"
        APP_NAME=$2
        shift
        ;;
    --app-name=*) APP_NAME=${1#*=} ;;
    --web-host)
        need_value "$@"
        WEB_HOST=$2
        shift
        ;;
    --web-host=*) WEB_HOST=${1#*=} ;;
    --assign-role)
        need_value "$@"
        ASSIGN_ROLE=$2
        shift
        ;;
    --assign-role=*) ASSIGN_ROLE=${1#*=} ;;
    --to)
        need_value "$@"
        ASSIGN_TO=$2
        shift
        ;;
    --to=*) ASSIGN_TO=${1#*=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*) usage_error "unknown option: $1" ;;
    *) usage_error "unexpected argument '$1' (this script takes options only)" ;;
    esac
    shift
done

# Display names go into an OData filter and JSON: no quotes or other surprises.
[[ $APP_NAME =~ ^[A-Za-z0-9][A-Za-z0-9\ ._-]{0,119}$ ]] ||
    usage_error "bad --app-name '$APP_NAME': 1-120 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"
# A host name only (no scheme, path or port): the callback is always https on 443.
if [[ -n $WEB_HOST ]]; then
    [[ ${WEB_HOST,,} =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$ ]] ||
        usage_error "bad --web-host '$WEB_HOST': give the app's host name, e.g. func-abc.azurewebsites.net (no https://, path or port)"
    WEB_HOST=${WEB_HOST,,}
fi
if [[ -n $ASSIGN_ROLE || -n $ASSIGN_TO ]]; then
    [[ -n $ASSIGN_ROLE ]] || usage_error "--to needs --assign-role ROLE"
    [[ -n $ASSIGN_TO ]] || usage_error "--assign-role needs --to OBJECT_ID"
    valid=0
    for role in "${ROLES[@]}"; do [[ $ASSIGN_ROLE == "$role" ]] && valid=1; done
    ((valid)) || usage_error "unknown role '$ASSIGN_ROLE': use one of ${ROLES[*]}"
    [[ ${ASSIGN_TO,,} =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
        usage_error "bad --to '$ASSIGN_TO': give the object id (a GUID) of a user, group or service principal"
    ASSIGN_TO=${ASSIGN_TO,,}
fi

# ---------------------------------------------------------------------------------------------
# Prerequisites: installed and logged in. Errors (exit 2) for real runs, warnings for --dry-run.

# jq computes the plan, so even --dry-run needs it.
command -v jq >/dev/null 2>&1 || usage_error "missing prerequisite: jq (https://jqlang.org/download/)"
AZ_READY=0
command -v az >/dev/null 2>&1 ||
    problem "missing prerequisite: az (install the Azure CLI: https://learn.microsoft.com/cli/azure/install-azure-cli)"

TENANT_ID="<tenant-id>"
if command -v az >/dev/null 2>&1; then
    if account=$(az account show --output json 2>/dev/null); then
        AZ_READY=1
        TENANT_ID=$(jq -r '.tenantId' <<<"$account")
        log "tenant $TENANT_ID (signed in as $(jq -r '.user.name // "?"' <<<"$account"))"
    else
        problem "the Azure CLI is not logged in: run 'az login --tenant <tenant>'"
    fi
fi
((DRY_RUN)) && log "dry run: commands that would change something are printed, not run"

# ---------------------------------------------------------------------------------------------
# 1. The app registration (no client secret, ever)

log "app registration $APP_NAME"
APP_ID=""
APP_OBJECT_ID=""
app='{}'
if ((AZ_READY)); then
    # --display-name matches by prefix: keep exact matches only. A failed look-up stops the
    # script rather than reading as "none" and creating a duplicate.
    apps=$(az ad app list --display-name "$APP_NAME" --output json)
    matches=$(jq -c --arg name "$APP_NAME" '[.[] | select(.displayName == $name)]' <<<"$apps")
    count=$(jq 'length' <<<"$matches")
    ((count <= 1)) || fail "$count app registrations are named '$APP_NAME'; pass --app-name to pick a unique name"
    if ((count == 1)); then
        app=$(jq -c '.[0]' <<<"$matches")
        APP_ID=$(jq -r '.appId' <<<"$app")
        APP_OBJECT_ID=$(jq -r '.id' <<<"$app")
        log "reusing app registration $APP_ID"
    fi
fi
APP_CREATED=0
if [[ -z $APP_ID ]]; then
    created=$(run az ad app create --display-name "$APP_NAME" --sign-in-audience AzureADMyOrg \
        --output json)
    APP_CREATED=1
    if [[ -n $created ]]; then
        app=$(jq -c '.' <<<"$created")
        APP_ID=$(jq -r '.appId // empty' <<<"$app")
        APP_OBJECT_ID=$(jq -r '.id // empty' <<<"$app")
        [[ -n $APP_ID && -n $APP_OBJECT_ID ]] || fail "az ad app create returned no appId and object id"
        log "created app registration $APP_ID"
    else
        ((DRY_RUN)) || fail "az ad app create returned nothing"
        APP_ID="<app-client-id>"
        APP_OBJECT_ID="<app-object-id>"
    fi
fi
# Objects created a moment ago may not be visible everywhere in the directory yet: writes that
# refer to them are retried (a real run only).
attempts=1
((APP_CREATED && !DRY_RUN)) && attempts=6
retrying() {
    local attempt
    for ((attempt = 1; ; attempt++)); do
        if run "$@"; then return 0; fi
        ((attempt < attempts)) || return 1
        warn "'$1 $2 $3 $4' failed (attempt $attempt of $attempts); retrying in ${RETRY_SECONDS}s"
        sleep "$RETRY_SECONDS"
    done
}

# ---------------------------------------------------------------------------------------------
# 2-5. Identifier URI, token version, app roles, scope, browser sign-in, the Azure CLI pre-authorization

roles_json=$(for role in "${ROLES[@]}"; do
    jq -nc --arg value "$role" --arg id "$(uuid5 "$ID_NAMESPACE" "$role")" \
        --arg description "${ROLE_DESCRIPTION[$role]}" \
        '{value: $value, id: $id, description: $description,
          displayName: ($value | sub("\\."; " "))}'
done | jq -sc '.')

# Prints {first, second, roleIds, unchanged}: the PATCH bodies that bring the registration to
# the wanted state (null when nothing is missing), the id of each Haymaker role, and the
# Haymaker roles that exist in another form. Entra ID rejects changes to an enabled role or
# scope ("cannot be deleted or updated unless disabled first"), so existing ones are sent back as
# they are. Two PATCHes: a pre-authorization cannot name a scope added in the same request.
callback=""
[[ -n $WEB_HOST ]] && callback="https://$WEB_HOST/.auth/login/aad/callback"
plan=$(jq -c --arg appId "$APP_ID" --argjson wanted "$roles_json" --arg callback "$callback" \
    --arg scopeId "$(uuid5 "$ID_NAMESPACE" "$SCOPE_VALUE")" --arg scopeValue "$SCOPE_VALUE" \
    --arg cli "$AZURE_CLI_APP_ID" '
    # origin is read-only: it must not be sent back in a PATCH.
    def strip: del(.origin);
    (.appRoles // []) as $have
    | ($have | map(.value)) as $haveValues
    | [$wanted[] | select(.value as $v | $haveValues | index($v) == null)
        | {allowedMemberTypes: ["Application", "User"], description, displayName, id,
           isEnabled: true, value}] as $missing
    | ($have | map(strip) + $missing) as $roles
    | [$have[] | select(.value as $v | $wanted | map(.value) | index($v) != null)
        | select(.isEnabled != true
                 or ((.allowedMemberTypes // []) | sort) != ["Application", "User"])
        | .value] as $unchanged
    | ("api://" + $appId) as $uri
    | (.identifierUris // []) as $uris
    | (.api // {}) as $api
    | ($api.oauth2PermissionScopes // []) as $scopes
    | (first($scopes[] | select(.value == $scopeValue)) // null) as $oldScope
    | ($oldScope.id // $scopeId) as $sid
    | (($scopes | map(strip)) + (if $oldScope then [] else [{
        adminConsentDisplayName: "Call the Haymaker API",
        adminConsentDescription: "Call the Haymaker API as the signed-in user; what the user may do depends on the Haymaker app roles assigned to them.",
        userConsentDisplayName: "Call the Haymaker API",
        userConsentDescription: "Call the Haymaker API as you; what you may do depends on your Haymaker roles.",
        id: $sid, isEnabled: true, type: "User", value: $scopeValue}] end)) as $newScopes
    | ($api + {requestedAccessTokenVersion: 2, oauth2PermissionScopes: $newScopes}) as $api1
    | ($api.preAuthorizedApplications // []) as $pre
    | (if any($pre[]; .appId == $cli and ((.delegatedPermissionIds // []) | index($sid) != null))
       then $pre
       else [$pre[] | select(.appId != $cli)] + [{appId: $cli, delegatedPermissionIds:
         ([$pre[] | select(.appId == $cli) | (.delegatedPermissionIds // [])[]] + [$sid] | unique)}]
       end) as $newPre
    | (.web // {}) as $web
    | ($web.redirectUris // []) as $redirects
    | (if $callback == "" or (($redirects | index($callback)) != null
                              and $web.implicitGrantSettings.enableIdTokenIssuance == true)
       then {}
       else {web: {redirectUris: ($redirects + [$callback] | unique),
                   implicitGrantSettings: (($web.implicitGrantSettings // {})
                                           + {enableIdTokenIssuance: true})}} end) as $webPatch
    | {
        first: (
          (if ($uris | index($uri)) == null then {identifierUris: ($uris + [$uri])} else {} end)
          + $webPatch
          + (if $missing != [] then {appRoles: $roles} else {} end)
          + (if $api.requestedAccessTokenVersion != 2 or $oldScope == null
             then {api: $api1} else {} end)
          | if . == {} then null else . end),
        second: (if $newPre != $pre then {api: ($api1 + {preAuthorizedApplications: $newPre})}
                 else null end),
        roleIds: ($roles | map({key: .value, value: .id}) | from_entries),
        unchanged: $unchanged
      }' <<<"$app")

while IFS= read -r role; do
    [[ -n $role ]] || continue
    warn "app role $role exists but is disabled or not assignable to both users and applications; left as it is (Entra ID changes only a disabled role: fix it in the portal)"
done < <(jq -r '.unchanged[]' <<<"$plan")

for step in first second; do
    body=$(jq -c --arg step "$step" '.[$step]' <<<"$plan")
    if [[ $body == null ]]; then
        if [[ $step == first ]]; then
            log "app registration: identifier URI, token version, app roles, scope and sign-in already set"
        else
            log "app registration: Azure CLI already pre-authorized"
        fi
        continue
    fi
    log "app registration: setting $(jq -r 'keys | join(", ")' <<<"$body")"
    retrying az rest --method PATCH --uri "$GRAPH/applications/$APP_OBJECT_ID" \
        --headers Content-Type=application/json --body "$body" ||
        fail "could not update app registration $APP_ID"
done

# ---------------------------------------------------------------------------------------------
# 6. Service principal (role assignments belong to it)

SP_ID=""
SP_CREATED=0
if ((AZ_READY)) && [[ $APP_ID != \<* ]]; then
    SP_ID=$(az ad sp list --filter "appId eq '$APP_ID'" --query '[0].id' --output tsv)
fi
if [[ -n $SP_ID ]]; then
    log "reusing service principal $SP_ID"
else
    SP_ID=$(retrying az ad sp create --id "$APP_ID" --query id --output tsv) ||
        fail "could not create the service principal of $APP_ID"
    SP_CREATED=1
    if [[ -z $SP_ID ]]; then
        ((DRY_RUN)) || fail "az ad sp create returned no object id"
        SP_ID="<service-principal-object-id>"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 7. Optional role assignment

# Prints "principalId<TAB>appRoleId" for every assignment of the API's roles (all pages).
assignments() {
    local uri="$GRAPH/servicePrincipals/$SP_ID/appRoleAssignedTo" page
    while [[ -n $uri ]]; do
        page=$(az rest --method GET --uri "$uri" --output json)
        jq -r '.value[] | [.principalId, .appRoleId] | @tsv' <<<"$page"
        uri=$(jq -r '."@odata.nextLink" // empty' <<<"$page")
    done
}

if [[ -n $ASSIGN_ROLE ]]; then
    ROLE_ID=$(jq -r --arg role "$ASSIGN_ROLE" '.roleIds[$role]' <<<"$plan")
    log "role $ASSIGN_ROLE ($ROLE_ID) for $ASSIGN_TO"
    current=""
    if ((AZ_READY && !SP_CREATED)) && [[ $SP_ID != \<* ]]; then
        current=$(assignments)
    fi
    if grep -qiF "$ASSIGN_TO"$'\t'"$ROLE_ID" <<<"$current"; then
        log "$ASSIGN_TO already has $ASSIGN_ROLE"
    else
        body=$(jq -nc --arg principal "$ASSIGN_TO" --arg resource "$SP_ID" --arg role "$ROLE_ID" \
            '{principalId: $principal, resourceId: $resource, appRoleId: $role}')
        ((SP_CREATED && !DRY_RUN)) && attempts=6
        retrying az rest --method POST --uri "$GRAPH/servicePrincipals/$SP_ID/appRoleAssignedTo" \
            --headers Content-Type=application/json --body "$body" --output none ||
            fail "could not assign $ASSIGN_ROLE to $ASSIGN_TO"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Result

printf 'AUTH_CLIENT_ID=%s\n' "$APP_ID"
printf 'AUTH_TENANT_ID=%s\n' "$TENANT_ID"
log "done. Next steps:"
log "  azd env set ENABLE_APP_SERVICE_AUTH true"
log "  azd env set AUTH_CLIENT_ID $APP_ID"
log "  azd provision"
log "  az account get-access-token --resource api://$APP_ID --query accessToken -o tsv"
log "  haymaker profile add NAME --url https://<app>.azurewebsites.net --entra-scope api://$APP_ID/.default"
