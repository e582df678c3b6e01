// The Flex Consumption plan and the Python function app. The app runs as the user-assigned
// identity for everything: AzureWebJobsStorage, the deployment container, Application
// Insights and Key Vault references. No setting holds a key or a connection string.

@description('Name of the function app; also the host name prefix (<name>.azurewebsites.net).')
@minLength(2)
@maxLength(60)
param name string

@description('Name of the Flex Consumption plan.')
@minLength(1)
@maxLength(60)
param planName string

@description('Azure region for the plan and the app.')
param location string

@description('Tags applied to the plan and the app (the app also gets azd-service-name).')
param tags object

@description('azd service name from azure.yaml that deploys code to this app.')
param serviceName string = 'api'

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Name of the existing storage account used as AzureWebJobsStorage.')
param storageAccountName string

@description('Existing blob container in that account that holds the deployment package.')
param deploymentContainerName string

@description('Name of the existing Application Insights component.')
param applicationInsightsName string

@description('Memory of each instance in MB; CPU and network scale with it.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound on the number of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Instances kept running for the durable trigger group (orchestrations, activities, entities); 0 scales to zero.')
@minValue(0)
@maxValue(20)
param durableAlwaysReadyInstances int

@description('App settings added to the identity, storage and telemetry settings this module sets (names must differ).')
param appSettings object = {}

@description('Name of the existing Key Vault that holds the API keys.')
param keyVaultName string

@description('App settings whose values are Key Vault references; secret name = setting name, lowercase, _ as -.')
param keyVaultSecretSettings array = []

@description('Turn on App Service Authentication (Easy Auth) with Microsoft Entra ID: bearer tokens and the dashboard sign-in replace function keys (app-auth.bicep).')
param enableAppServiceAuth bool = false

@description('Application (client) id of the API app registration; required when enableAppServiceAuth is true.')
@maxLength(36)
param authClientId string = ''

@description('Directory (tenant) id of that app registration.')
@maxLength(36)
param authTenantId string = tenant().tenantId

@description('Token audiences accepted besides the client id; empty means api://<authClientId>.')
@maxLength(10)
param authAllowedAudiences array = []

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Written as name/value pairs, not looped over: their values are only known at run time.
var platformSettings = [
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.properties.primaryEndpoints.table
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  // The connection string names the ingestion endpoint only: local auth is disabled, so
  // ingestion also needs the Entra ID token the authentication string asks for.
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  // DefaultAzureCredential in the app picks the user-assigned identity by this id.
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]

var extraSettings = [for setting in items(appSettings): {
  name: setting.key
  value: setting.value
}]
// Key Vault secret names allow only letters, digits and hyphens: ANTHROPIC_API_KEY is
// read from the secret anthropic-api-key.
var keyVaultReferenceSettings = [for settingName in keyVaultSecretSettings: {
  name: settingName
  value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${toLower(replace(settingName, '_', '-'))})'
}]

var durableAlwaysReady = [
  {
    name: 'durable'
    instanceCount: durableAlwaysReadyInstances
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is offered in a subset of regions only; turning it on here would fail deployments elsewhere.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: The app is a public HTTP API; callers authenticate with function keys (GET /api/health is anonymous by design).
  // checkov:skip=CKV_AZURE_17: Callers (the haymaker CLI, the deploy workflow) authenticate with function keys, not client certificates.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; always-ready instances are the durableAlwaysReadyInstances parameter.
  // checkov:skip=CKV_AZURE_213: The platform health check is not available on Flex Consumption; GET /api/health serves external probes.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: durableAlwaysReadyInstances > 0 ? durableAlwaysReady : []
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(platformSettings, extraSettings, keyVaultReferenceSettings)
    }
  }
}

// Only when asked for: callers with an Entra ID token for the app registration get their claims
// (X-MS-CLIENT-PRINCIPAL) injected; everyone else still passes through to the function-key check.
// ARM still evaluates a skipped module's parameters (Azure/bicep#8022), so while it is off the
// client id is a well-formed placeholder that app-auth.bicep's length check cannot trip over;
// while it is on, an empty authClientId fails that check.
module appAuth 'app-auth.bicep' = if (enableAppServiceAuth) {
  name: 'app-auth'
  params: {
    siteName: functionApp.name
    clientId: enableAppServiceAuth ? authClientId : '00000000-0000-0000-0000-000000000000'
    tenantId: authTenantId
    allowedAudiences: authAllowedAudiences
  }
}

// Deployments authenticate with Entra ID (azd, the GitHub workflow); no publishing passwords.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
