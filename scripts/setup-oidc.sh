#!/usr/bin/env bash
# One-time setup of keyless (OIDC) deployment from GitHub Actions to Azure for this repository.
#
#   scripts/setup-oidc.sh [--dry-run] [--environment NAME]... [--resource-group RG]
#                         [--location LOC] [--env-name NAME] [--app-name NAME]
#                         [--per-environment-variables] OWNER/REPO
#
# What it does (every step is idempotent: it looks first and only creates what is missing):
#   1. creates the resource group if it does not exist;
#   2. creates (or reuses) an Entra app registration + service principal, with NO client secret;
#   3. adds federated credentials for the subjects GitHub puts in its OIDC tokens:
#        repo:OWNER/REPO:ref:refs/heads/main        (jobs on main without an environment)
#        repo:OWNER/REPO:environment:NAME           (one per --environment; default dev and prod)
#        repo:OWNER/REPO:pull_request               (the what-if job on pull requests)
#   4. grants roles on the RESOURCE GROUP only (never the subscription):
#        Contributor, and Role Based Access Control Administrator constrained by an ABAC condition
#        to the few data-plane roles the Bicep assigns to the app's managed identity;
#   5. creates the GitHub environments (restricted to the main branch) and sets the repository
#      variables the workflows read: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID,
#      AZURE_RESOURCE_GROUP, AZURE_LOCATION, AZURE_ENV_NAME.
#
# A separate resource group for prod: run it again for that environment only, with its variables
# set on the environment (they override the repository's for jobs that use the environment):
#   scripts/setup-oidc.sh --environment prod --resource-group rg-haymaker-prod \
#       --env-name haymaker-prod --per-environment-variables OWNER/REPO
#
# Why an app registration and not a user-assigned managed identity: the identity must not be able
# to change its own trust. A managed identity is an Azure resource; placed in the resource group it
# deploys to, its Contributor role would let any workflow run add federated credentials to it
# (Microsoft.ManagedIdentity/.../federatedIdentityCredentials/write). An app registration lives in
# Entra ID, outside every Azure RBAC scope this script grants, and survives deleting the group.
#
# --dry-run prints every command that would change something (az/gh writes) instead of running
# it. Read-only look-ups still run when az/gh are installed and logged in, so the plan reflects
# what exists; without them, placeholders such as <subscription-id> are printed.
#
# Exit codes: 0 done, 1 an Azure/GitHub command failed, 2 bad usage or missing prerequisites.
set -euo pipefail
shopt -s inherit_errexit

readonly ISSUER="https://token.actions.githubusercontent.com"
readonly AUDIENCE="api://AzureADTokenExchange"
readonly CONTRIBUTOR="b24988ac-6180-42a0-ab88-20f7382dd24c"
readonly RBAC_ADMIN="f58310d9-a9f6-439a-9e8d-f62e7b41a168" # Role Based Access Control Administrator
# The only roles the deploy identity may assign (and remove): what infra/ grants the app.
readonly ASSIGNABLE_ROLES=(
    b7e6dc6d-f1e8-4753-8033-0f276bb0955b # Storage Blob Data Owner
    974c5e8b-45b9-4653-ba55-5f855dd0fb88 # Storage Queue Data Contributor
    0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3 # Storage Table Data Contributor
    3913510d-42f4-4e42-8a64-420c390055eb # Monitoring Metrics Publisher
    4633458b-17de-408a-b874-0445c86b69e6 # Key Vault Secrets User
    b86a8fe4-44ce-4948-aee5-eccb2c155cd7 # Key Vault Secrets Officer
    5e0bd9bd-7b93-4f28-af87-19fc36ad61bd # Cognitive Services OpenAI User
    0ad04412-c4d5-4796-b79c-f76d14c8d402 # Durable Task Data Contributor
)
# Providers the Bicep needs; registering is a subscription-level action the deploy identity lacks.
readonly PROVIDERS=(
    Microsoft.Web Microsoft.Storage Microsoft.Insights Microsoft.OperationalInsights
    Microsoft.KeyVault Microsoft.CognitiveServices Microsoft.DurableTask Microsoft.ManagedIdentity
)

usage() {
    cat <<'EOF'
usage: scripts/setup-oidc.sh [--dry-run] [--environment NAME]... [--resource-group RG]
                             [--location LOC] [--env-name NAME] [--app-name NAME]
                             [--per-environment-variables] OWNER/REPO

  --dry-run             print the az/gh commands that would change something instead of running them
  --environment NAME    GitHub environment to trust (repeatable; default: dev and prod)
  --resource-group RG   resource group to deploy to and to grant roles on (default: rg-<repo>)
  --location LOC        Azure region for the resource group (default: $AZURE_LOCATION or eastus2)
  --env-name NAME       azd environment name, AZURE_ENV_NAME (default: <repo>)
  --app-name NAME       display name of the Entra app registration (default: github-<owner>-<repo>)
  --per-environment-variables
                        set AZURE_RESOURCE_GROUP, AZURE_LOCATION and AZURE_ENV_NAME on each given
                        GitHub environment instead of on the repository
  -h, --help            show this help
EOF
}

USAGE_HINT="scripts/setup-oidc.sh --help"
here=${BASH_SOURCE[0]%/*} # dirname without the dirname command (PATH may be bare)
if [[ $here == "${BASH_SOURCE[0]}" ]]; then here=.; fi
# shellcheck source=scripts/lib/cli.sh
source "$here/lib/cli.sh"

# ---------------------------------------------------------------------------------------------
# Arguments

ENVIRONMENTS=()
RESOURCE_GROUP=""
LOCATION="${AZURE_LOCATION:-eastus2}"
ENV_NAME=""
APP_NAME=""
REPO=""
PER_ENV_VARIABLES=0

while (($#)); do
    case $1 in
    --dry-run) DRY_RUN=1 ;;
    --per-environment-variables) PER_ENV_VARIABLES=1 ;;
    --environment) need_value "$@"; ENVIRONMENTS+=("$2"); shift ;;
    --environment=*) ENVIRONMENTS+=("${1#*=}") ;;
    --resource-group) need_value "$@"; RESOURCE_GROUP=$2; shift ;;
    --resource-group=*) RESOURCE_GROUP=${1#*=} ;;
    --location) need_value "$@"; LOCATION=$2; shift ;;
    --location=*) LOCATION=${1#*=} ;;
    --env-name) need_value "$@"; ENV_NAME=$2; shift ;;
    --env-name=*) ENV_NAME=${1#*=} ;;
    --app-name) need_value "$@"; APP_NAME=$2; shift ;;
    --app-name=*) APP_NAME=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option: $1" ;;
    *)
        [[ -z $REPO ]] || usage_error "only one OWNER/REPO may be given (got '$REPO' and '$1')"
        REPO=$1
        ;;
    esac
    shift
done

[[ -n $REPO ]] || usage_error "missing OWNER/REPO (for example: contoso/haymaker-functions)"
# GitHub owners: letters, digits and single hyphens, at most 39 characters; repositories:
# letters, digits, '.', '-' and '_', at most 100 characters, and not '.' or '..'.
if [[ ! $REPO =~ ^([A-Za-z0-9]([A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$ ]] ||
    [[ ${BASH_REMATCH[3]} == . || ${BASH_REMATCH[3]} == .. ]]; then
    usage_error "'$REPO' is not of the form OWNER/REPO (for example: contoso/haymaker-functions)"
fi
OWNER=${BASH_REMATCH[1]}
REPO_NAME=${BASH_REMATCH[3]}

((${#ENVIRONMENTS[@]})) || ENVIRONMENTS=(dev prod)
declare -A seen=()
for env in "${ENVIRONMENTS[@]}"; do
    # The name goes into a federated credential name and subject and into a GitHub API path.
    [[ $env =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$ ]] ||
        usage_error "bad environment name '$env': use 1-63 letters, digits, '-' or '_', starting with a letter or digit"
    [[ -z ${seen[$env]:-} ]] || usage_error "environment '$env' given twice"
    seen[$env]=1
done

slug=$(printf '%s' "$REPO_NAME" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9' '-')
while [[ $slug == -* ]]; do slug=${slug#-}; done
while [[ $slug == *- ]]; do slug=${slug%-}; done
[[ -n $slug ]] || slug=app
RESOURCE_GROUP=${RESOURCE_GROUP:-rg-$slug}
ENV_NAME=${ENV_NAME:-${slug:0:40}}
APP_NAME=${APP_NAME:-github-$OWNER-$REPO_NAME}

[[ $RESOURCE_GROUP =~ ^[A-Za-z0-9._()-]{1,90}$ && $RESOURCE_GROUP != *. ]] ||
    usage_error "bad resource group name '$RESOURCE_GROUP': 1-90 letters, digits, '.', '_', '-', '(' or ')', not ending in '.'"
[[ $LOCATION =~ ^[a-z0-9]{2,40}$ ]] ||
    usage_error "bad location '$LOCATION': use an Azure region name such as eastus2 (see 'az account list-locations')"
[[ $ENV_NAME =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$ ]] ||
    usage_error "bad --env-name '$ENV_NAME': 1-64 letters, digits or '-', starting with a letter or digit"
[[ $APP_NAME =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$ ]] ||
    usage_error "bad --app-name '$APP_NAME': 1-120 letters, digits, '.', '_' or '-'"

# ---------------------------------------------------------------------------------------------
# Prerequisites: installed and logged in. Errors (exit 2) for real runs, warnings for --dry-run.

AZ_READY=0
GH_READY=0
missing=()
for tool in az gh jq; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
((${#missing[@]} == 0)) ||
    problem "missing prerequisite(s): ${missing[*]} (install the Azure CLI, the GitHub CLI and jq)"

if command -v az >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
    if account=$(az account show --output json 2>/dev/null); then
        AZ_READY=1
    else
        problem "the Azure CLI is not logged in: run 'az login' (and 'az account set --subscription ...')"
    fi
fi
if command -v gh >/dev/null 2>&1; then
    if gh auth status >/dev/null 2>&1; then
        GH_READY=1
    else
        problem "the GitHub CLI is not logged in: run 'gh auth login'"
    fi
fi

if ((AZ_READY)); then
    SUBSCRIPTION_ID=$(jq -r '.id' <<<"$account")
    TENANT_ID=$(jq -r '.tenantId' <<<"$account")
    log "subscription $(jq -r '.name' <<<"$account") ($SUBSCRIPTION_ID), tenant $TENANT_ID"
else
    SUBSCRIPTION_ID="<subscription-id>"
    TENANT_ID="<tenant-id>"
fi
SCOPE="/subscriptions/$SUBSCRIPTION_ID/resourceGroups/$RESOURCE_GROUP"
((DRY_RUN)) && log "dry run: commands that would change something are printed, not run"

# ---------------------------------------------------------------------------------------------
# 1. Resource group and resource providers

log "resource group $RESOURCE_GROUP in $LOCATION"
RG_EXISTS=0
if ((AZ_READY)) && [[ $(az group exists --name "$RESOURCE_GROUP") == true ]]; then
    RG_EXISTS=1
    existing_location=$(az group show --name "$RESOURCE_GROUP" --query location --output tsv)
    [[ $existing_location == "$LOCATION" ]] ||
        warn "resource group $RESOURCE_GROUP already exists in $existing_location (not $LOCATION); using it"
    LOCATION=$existing_location
else
    run az group create --name "$RESOURCE_GROUP" --location "$LOCATION" \
        --tags "github-repo=$REPO" --output none
    ((DRY_RUN)) || RG_EXISTS=1
fi

for provider in "${PROVIDERS[@]}"; do
    state=""
    ((AZ_READY)) && state=$(az provider show --namespace "$provider" --query registrationState --output tsv 2>/dev/null || true)
    [[ $state == Registered ]] || run az provider register --namespace "$provider" --output none
done

# ---------------------------------------------------------------------------------------------
# 2. App registration and service principal (no client secret, ever)

log "app registration $APP_NAME"
APP_ID=""
if ((AZ_READY)); then
    # --display-name matches by prefix: keep exact matches only. A failed look-up stops the
    # script (set -e) rather than reading as "none" and creating a duplicate.
    apps=$(az ad app list --display-name "$APP_NAME" --output json)
    mapfile -t app_ids < <(jq -r --arg name "$APP_NAME" '.[] | select(.displayName == $name) | .appId' <<<"$apps")
    ((${#app_ids[@]} <= 1)) || fail "${#app_ids[@]} app registrations are named '$APP_NAME'; pass --app-name to pick a unique name"
    APP_ID=${app_ids[0]:-}
fi
if [[ -n $APP_ID ]]; then
    log "reusing app registration $APP_ID"
else
    APP_ID=$(run az ad app create --display-name "$APP_NAME" --sign-in-audience AzureADMyOrg \
        --query appId --output tsv)
    if [[ -z $APP_ID ]]; then
        ((DRY_RUN)) || fail "az ad app create returned no appId"
        APP_ID="<app-client-id>"
    fi
fi

SP_OBJECT_ID=""
if ((AZ_READY)) && [[ $APP_ID != \<* ]]; then
    SP_OBJECT_ID=$(az ad sp list --filter "appId eq '$APP_ID'" --query '[0].id' --output tsv)
fi
if [[ -z $SP_OBJECT_ID ]]; then
    SP_OBJECT_ID=$(run az ad sp create --id "$APP_ID" --query id --output tsv)
    if [[ -z $SP_OBJECT_ID ]]; then
        ((DRY_RUN)) || fail "az ad sp create returned no object id"
        SP_OBJECT_ID="<service-principal-object-id>"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 3. Federated credentials (name -> subject)

declare -A wanted=(["github-branch-main"]="repo:$REPO:ref:refs/heads/main"
    ["github-pull-request"]="repo:$REPO:pull_request")
for env in "${ENVIRONMENTS[@]}"; do wanted["github-env-$env"]="repo:$REPO:environment:$env"; done

declare -A have_subject=() have_name=()
if ((AZ_READY)) && [[ $APP_ID != \<* ]]; then
    credentials=$(az ad app federated-credential list --id "$APP_ID" --output json)
    while IFS=$'\t' read -r name subject; do
        [[ -n $name ]] || continue
        have_name[$name]=$subject
        have_subject[$subject]=$name
    done < <(jq -r '.[] | [.name, .subject] | @tsv' <<<"$credentials")
fi

for name in $(printf '%s\n' "${!wanted[@]}" | sort); do
    subject=${wanted[$name]}
    if [[ -n ${have_subject[$subject]:-} ]]; then
        log "federated credential for $subject exists (${have_subject[$subject]})"
        continue
    fi
    # Values are validated above: none can contain a quote or a backslash.
    params=$(printf '{"name":"%s","issuer":"%s","subject":"%s","description":"GitHub Actions OIDC for %s","audiences":["%s"]}' \
        "$name" "$ISSUER" "$subject" "$REPO" "$AUDIENCE")
    if [[ -n ${have_name[$name]:-} ]]; then
        run az ad app federated-credential update --id "$APP_ID" --federated-credential-id "$name" \
            --parameters "$params" --output none
    else
        run az ad app federated-credential create --id "$APP_ID" --parameters "$params" --output none
    fi
done

# ---------------------------------------------------------------------------------------------
# 4. Role assignments on the resource group only

ids=$(IFS=,; printf '%s' "${ASSIGNABLE_ROLES[*]}")
ids=${ids//,/, }
# "Constrain roles" from Microsoft's "Examples to delegate Azure role assignment management with
# conditions": writes may only create, and deletes only remove, assignments of the listed roles.
CONDITION="((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {$ids})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {$ids}))"

# Prints "id<TAB>condition" for each assignment of role $1 to the service principal at SCOPE itself
# (use as x=$(assignments ROLE): a failed look-up then stops the script).
assignments() {
    ((AZ_READY && RG_EXISTS)) && [[ $SP_OBJECT_ID != \<* ]] || return 0
    local json
    json=$(az role assignment list --scope "$SCOPE" --role "$1" --output json)
    jq -r --arg p "$SP_OBJECT_ID" --arg s "$SCOPE" \
        '.[] | select(.principalId == $p and (.scope | ascii_downcase) == ($s | ascii_downcase))
         | [.id, (.condition // "")] | @tsv' <<<"$json"
}
normalise() { tr -d '[:space:]' <<<"$1" | tr '[:upper:]' '[:lower:]'; }

log "role Contributor on $SCOPE"
current=$(assignments "$CONTRIBUTOR")
if [[ -n $current ]]; then
    log "Contributor already assigned"
else
    run az role assignment create --assignee-object-id "$SP_OBJECT_ID" \
        --assignee-principal-type ServicePrincipal --role "$CONTRIBUTOR" --scope "$SCOPE" \
        --description "GitHub Actions deployments of $REPO" --output none
fi

log "role Role Based Access Control Administrator (conditioned) on $SCOPE"
ok=0
current=$(assignments "$RBAC_ADMIN")
while IFS=$'\t' read -r assignment_id condition; do
    [[ -n $assignment_id ]] || continue
    if [[ $(normalise "$condition") == "$(normalise "$CONDITION")" ]]; then
        ok=1
    else
        # An unconstrained (or differently constrained) grant is too broad: replace it.
        warn "replacing role assignment $assignment_id whose condition differs"
        run az role assignment delete --ids "$assignment_id" </dev/null
    fi
done <<<"$current"
if ((ok)); then
    log "conditioned Role Based Access Control Administrator already assigned"
else
    run az role assignment create --assignee-object-id "$SP_OBJECT_ID" \
        --assignee-principal-type ServicePrincipal --role "$RBAC_ADMIN" --scope "$SCOPE" \
        --description "GitHub Actions deployments of $REPO: may assign only the data roles the app needs" \
        --condition "$CONDITION" --condition-version 2.0 --output none
fi

# ---------------------------------------------------------------------------------------------
# 5. GitHub environments and variables

for env in "${ENVIRONMENTS[@]}"; do
    if ((GH_READY)) && gh api "repos/$REPO/environments/$env" --silent >/dev/null 2>&1; then
        # Left as is: a PUT would reset protection rules (such as prod's required reviewers).
        log "GitHub environment $env exists; its protection rules are left as they are"
        continue
    fi
    run gh api --method PUT "repos/$REPO/environments/$env" --silent \
        -F 'deployment_branch_policy[protected_branches]=false' \
        -F 'deployment_branch_policy[custom_branch_policies]=true'
    run gh api --method POST "repos/$REPO/environments/$env/deployment-branch-policies" --silent \
        -f name=main -f type=branch
done

# The identity is shared by every environment: always repository variables (the workflows also
# test AZURE_CLIENT_ID in job conditions, where environment variables are not visible).
run gh variable set AZURE_CLIENT_ID --repo "$REPO" --body "$APP_ID"
run gh variable set AZURE_TENANT_ID --repo "$REPO" --body "$TENANT_ID"
run gh variable set AZURE_SUBSCRIPTION_ID --repo "$REPO" --body "$SUBSCRIPTION_ID"
if ((PER_ENV_VARIABLES)); then
    targets=()
    for env in "${ENVIRONMENTS[@]}"; do targets+=("--env=$env"); done
else
    targets=("")
fi
for target in "${targets[@]}"; do
    # ${target:+"$target"} adds --env=NAME only when there is one.
    run gh variable set AZURE_RESOURCE_GROUP --repo "$REPO" ${target:+"$target"} --body "$RESOURCE_GROUP"
    run gh variable set AZURE_LOCATION --repo "$REPO" ${target:+"$target"} --body "$LOCATION"
    run gh variable set AZURE_ENV_NAME --repo "$REPO" ${target:+"$target"} --body "$ENV_NAME"
done

log "done. Next steps:"
log "  - add required reviewers to the environments that need approval, such as prod"
log "    (Settings > Environments > NAME > Required reviewers)"
log "  - run the Deploy workflow (Actions > Deploy > Run workflow) or push to main"
