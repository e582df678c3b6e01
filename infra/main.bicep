// Haymaker Functions on Azure: a Python Durable Functions app on Flex Consumption that
// reaches every dependency with one user-assigned managed identity.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds resource names and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Azure region for the resources (defaults to the resource group\'s region).')
param location string = resourceGroup().location

@description('Object id of an operator (azd passes AZURE_PRINCIPAL_ID) granted Key Vault Secrets Officer; empty grants nobody.')
@maxLength(36)
param principalId string = ''

@description('Memory of each function app instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on function app instances; bounds the bill under a burst.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the durable trigger group. 0 scales to zero at idle (cold start on the first orchestration step); 1 removes that cold start for a baseline charge around the clock.')
@minValue(0)
@maxValue(20)
param durableAlwaysReadyInstances int = 0

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Durable Functions backend: the storage account (azureStorage) or a managed Durable Task Scheduler.')
@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
param durableBackend string = 'azureStorage'

@description('Billing model of the Durable Task Scheduler, when durableBackend is durableTaskScheduler.')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSkuName string = 'Consumption'

@description('Region of the Durable Task Scheduler (not every region offers it).')
@minLength(1)
param durableTaskSchedulerLocation string = location

@description('Durable Functions task hub; must equal extensions.durableTask.hubName in host.json.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'HaymakerHub'

@description('Prefix of the tables the app creates (HAYMAKER_TABLE_PREFIX): 1-40 letters or digits, starting with a letter.')
@minLength(1)
@maxLength(40)
param tablePrefix string = 'haymaker'

@description('NCRONTAB schedule of the app\'s scheduler timer (HAYMAKER_SCHEDULER_CRON).')
@minLength(11)
param schedulerCron string = '0 * * * * *'

@description('LLM provider the app uses (LLM_PROVIDER). Empty picks azure_openai when deployAzureOpenAi is true, else anthropic.')
@allowed([
  ''
  'anthropic'
  'azure_openai'
  'azure_ai_foundry'
  'openai'
])
param llmProvider string = ''

@description('Model name for the Anthropic provider (ANTHROPIC_MODEL); empty leaves the app default.')
@maxLength(128)
param anthropicModel string = ''

@description('Extra API-key settings to wire as Key Vault references, on top of the one the provider needs.')
@allowed([
  'ANTHROPIC_API_KEY'
  'OPENAI_API_KEY'
  'AZURE_OPENAI_API_KEY'
  'AZURE_AI_FOUNDRY_API_KEY'
])
param extraApiKeySettings array = []

@description('App settings (SERVICE_*) holding secrets of registered services, each wired as a Key Vault reference to the secret of its name lower-cased, _ as - (docs/integrations.md).')
@maxLength(50)
param serviceSecretSettings array = []

@description('HAYMAKER_MCP_SERVERS: a JSON list of MCP servers deployments may name in `services` (docs/integrations.md); empty leaves it unset.')
@maxLength(16000)
param mcpServers string = ''

@description('Azure AI Foundry endpoint (AZURE_AI_FOUNDRY_ENDPOINT); empty leaves it unset.')
@maxLength(2048)
param azureAiFoundryEndpoint string = ''

@description('Azure AI Foundry model (AZURE_AI_FOUNDRY_MODEL); empty leaves it unset.')
@maxLength(128)
param azureAiFoundryModel string = ''

@description('Deploy an Azure OpenAI account and model deployment for the app.')
param deployAzureOpenAi bool = false

@description('Region of the Azure OpenAI account (the model must be offered there).')
@minLength(1)
param azureOpenAiLocation string = location

@description('Azure OpenAI model to deploy.')
@minLength(1)
param azureOpenAiModelName string = 'gpt-4o-mini'

@description('Version of that model.')
@minLength(1)
param azureOpenAiModelVersion string = '2024-07-18'

@description('Name of the model deployment (AZURE_OPENAI_DEPLOYMENT).')
@minLength(1)
@maxLength(64)
param azureOpenAiDeploymentName string = 'chat'

@description('Deployment type of the model.')
@allowed([
  'GlobalStandard'
  'Standard'
  'DataZoneStandard'
])
param azureOpenAiDeploymentSkuName string = 'GlobalStandard'

@description('Capacity of the deployment in thousands of tokens per minute.')
@minValue(1)
@maxValue(1000)
param azureOpenAiDeploymentCapacity int = 10

@description('Data-plane API version the app uses (AZURE_OPENAI_API_VERSION).')
@minLength(10)
param azureOpenAiApiVersion string = '2024-10-21'

@description('Deploy an Event Grid custom topic and publish the app\'s lifecycle events (CloudEvents) to it (HAYMAKER_EVENTGRID_ENDPOINT), as the app\'s identity.')
param deployEventGrid bool = false

@description('Where the app exports OpenTelemetry spans (HAYMAKER_TRACING): off, azure_monitor (this deployment\'s Application Insights, as the app\'s identity) or otlp (OTEL_EXPORTER_OTLP_* settings).')
@allowed([
  'off'
  'azure_monitor'
  'otlp'
])
param tracing string = 'off'

@description('Turn on App Service Authentication (Easy Auth) with Microsoft Entra ID: a caller with a bearer token for the app registration, or signed in to the dashboard, gets its claims (app roles included) injected as X-MS-CLIENT-PRINCIPAL, and those replace function keys. Sets HAYMAKER_AUTH_MODE=easyauth (else off).')
param enableAppServiceAuth bool = false

@description('Application (client) id of the API app registration (scripts/setup-auth.sh prints it). Required when enableAppServiceAuth is true: left empty, the deployment fails validation of the app-auth module.')
@maxLength(36)
param authClientId string = ''

@description('Directory (tenant) id of that app registration; empty means this deployment\'s tenant.')
@maxLength(36)
param authTenantId string = tenant().tenantId

@description('Token audiences accepted besides the client id (always accepted); empty means api://<authClientId>.')
@maxLength(10)
param authAllowedAudiences array = []

var abbreviations = {
  applicationInsights: 'appi-'
  durableTaskScheduler: 'dts-'
  eventGridTopic: 'evgt-'
  functionApp: 'func-'
  flexPlan: 'plan-'
  keyVault: 'kv-'
  logAnalytics: 'log-'
  managedIdentity: 'id-'
  openAi: 'oai-'
  storageAccount: 'st'
}
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var useDurableTaskScheduler = durableBackend == 'durableTaskScheduler'
var functionAppName = '${abbreviations.functionApp}${resourceToken}'

var effectiveLlmProvider = !empty(llmProvider) ? llmProvider : (deployAzureOpenAi ? 'azure_openai' : 'anthropic')
// azure_openai needs no key: without AZURE_OPENAI_API_KEY the app signs in with Entra ID.
var apiKeySettingsByProvider = {
  anthropic: [
    'ANTHROPIC_API_KEY'
  ]
  openai: [
    'OPENAI_API_KEY'
  ]
  azure_ai_foundry: [
    'AZURE_AI_FOUNDRY_API_KEY'
  ]
  azure_openai: []
}
var apiKeySettings = union(apiKeySettingsByProvider[effectiveLlmProvider], extraApiKeySettings, serviceSecretSettings)

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${abbreviations.managedIdentity}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbreviations.logAnalytics}${resourceToken}'
    applicationInsightsName: '${abbreviations.applicationInsights}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoringAccess 'modules/monitoring-access.bicep' = {
  name: 'monitoring-access'
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${abbreviations.storageAccount}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: 'app-package'
  }
}

module storageAccess 'modules/storage-access.bicep' = {
  name: 'storage-access'
  params: {
    storageAccountName: storage.outputs.name
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: '${abbreviations.keyVault}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVaultAccess 'modules/key-vault-access.bicep' = {
  name: 'key-vault-access'
  params: {
    keyVaultName: keyVault.outputs.name
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
  }
}

module openAi 'modules/openai.bicep' = if (deployAzureOpenAi) {
  name: 'openai'
  params: {
    name: '${abbreviations.openAi}${resourceToken}'
    location: azureOpenAiLocation
    tags: tags
    deploymentName: azureOpenAiDeploymentName
    modelName: azureOpenAiModelName
    modelVersion: azureOpenAiModelVersion
    deploymentSkuName: azureOpenAiDeploymentSkuName
    deploymentCapacity: azureOpenAiDeploymentCapacity
  }
}

module openAiAccess 'modules/openai-access.bicep' = if (deployAzureOpenAi) {
  name: 'openai-access'
  params: {
    openAiAccountName: deployAzureOpenAi ? openAi.outputs.name : ''
    principalId: identity.outputs.principalId
  }
}

module durableTaskScheduler 'modules/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  params: {
    name: '${abbreviations.durableTaskScheduler}${resourceToken}'
    location: durableTaskSchedulerLocation
    tags: tags
    taskHubName: taskHubName
    skuName: durableTaskSchedulerSkuName
  }
}

module durableTaskSchedulerAccess 'modules/durable-task-scheduler-access.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler-access'
  params: {
    schedulerName: useDurableTaskScheduler ? durableTaskScheduler.outputs.name : ''
    principalId: identity.outputs.principalId
  }
}

module eventGrid 'modules/event-grid.bicep' = if (deployEventGrid) {
  name: 'event-grid'
  params: {
    name: '${abbreviations.eventGridTopic}${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

var eventGridSettings = {
  HAYMAKER_EVENTGRID_ENDPOINT: deployEventGrid ? eventGrid.outputs.endpoint : ''
}

var haymakerSettings = {
  HAYMAKER_TABLE_PREFIX: tablePrefix
  HAYMAKER_SCHEDULER_CRON: schedulerCron
  LLM_PROVIDER: effectiveLlmProvider
  // The app trusts X-MS-CLIENT-PRINCIPAL only in easyauth mode: without the platform in front,
  // any caller could send that header.
  HAYMAKER_AUTH_MODE: enableAppServiceAuth ? 'easyauth' : 'off'
  HAYMAKER_TRACING: tracing
}
var anthropicModelSetting = {
  ANTHROPIC_MODEL: anthropicModel
}
var azureAiFoundrySettings = {
  AZURE_AI_FOUNDRY_ENDPOINT: azureAiFoundryEndpoint
  AZURE_AI_FOUNDRY_MODEL: azureAiFoundryModel
}
var azureOpenAiSettings = {
  AZURE_OPENAI_ENDPOINT: deployAzureOpenAi ? openAi.outputs.endpoint : ''
  AZURE_OPENAI_DEPLOYMENT: deployAzureOpenAi ? openAi.outputs.deploymentName : ''
  AZURE_OPENAI_API_VERSION: azureOpenAiApiVersion
}
var durableTaskSchedulerEndpoint = useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''
// Not a secret: the endpoint plus which identity to sign in with.
var durableTaskSchedulerConnection = 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}'
// host.json names no storage provider (Azure Storage); these app settings override it.
var durableTaskSchedulerSettings = {
  AzureFunctionsJobHost__extensions__durableTask__hubName: taskHubName
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: durableTaskSchedulerConnection
}
var mcpServersSetting = {
  HAYMAKER_MCP_SERVERS: mcpServers
}
var llmSettings = union(haymakerSettings, empty(anthropicModel) ? {} : anthropicModelSetting, empty(azureAiFoundryEndpoint) ? {} : azureAiFoundrySettings, empty(mcpServers) ? {} : mcpServersSetting)
// azd passes an unset AUTH_TENANT_ID as ''.
var effectiveAuthTenantId = empty(authTenantId) ? tenant().tenantId : authTenantId
var appSettings = union(llmSettings, deployAzureOpenAi ? azureOpenAiSettings : {}, useDurableTaskScheduler ? durableTaskSchedulerSettings : {}, deployEventGrid ? eventGridSettings : {})

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: '${abbreviations.flexPlan}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    durableAlwaysReadyInstances: durableAlwaysReadyInstances
    appSettings: appSettings
    keyVaultName: keyVault.outputs.name
    keyVaultSecretSettings: apiKeySettings
    enableAppServiceAuth: enableAppServiceAuth
    authClientId: authClientId
    authTenantId: effectiveAuthTenantId
    authAllowedAudiences: authAllowedAudiences
  }
  // The app must not start before its identity may read storage and secrets.
  dependsOn: [
    storageAccess
    keyVaultAccess
    monitoringAccess
    durableTaskSchedulerAccess
    openAiAccess
    eventGrid
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_OPENAI_ENDPOINT string = deployAzureOpenAi ? openAi.outputs.endpoint : ''
output AZURE_OPENAI_DEPLOYMENT string = deployAzureOpenAi ? openAi.outputs.deploymentName : ''
output DURABLE_TASK_SCHEDULER_ENDPOINT string = durableTaskSchedulerEndpoint
output HAYMAKER_EVENTGRID_ENDPOINT string = deployEventGrid ? eventGrid.outputs.endpoint : ''
