// Optional Azure OpenAI account with one model deployment. Key auth is disabled: the app
// calls it with an Entra ID token from its managed identity.

@description('Name of the Azure OpenAI account; also its custom subdomain.')
@minLength(2)
@maxLength(64)
param name string

@description('Azure region for the account (the model must be offered there).')
param location string

@description('Tags applied to the account.')
param tags object

@description('Name of the model deployment the app calls.')
@minLength(1)
@maxLength(64)
param deploymentName string

@description('Model to deploy.')
@minLength(1)
param modelName string

@description('Model version to deploy.')
@minLength(1)
param modelVersion string

@description('Deployment type of the model.')
@allowed([
  'GlobalStandard'
  'Standard'
  'DataZoneStandard'
])
param deploymentSkuName string

@description('Deployment capacity in thousands of tokens per minute.')
@minValue(1)
@maxValue(1000)
param deploymentCapacity int

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: The app calls the account from Flex Consumption without a virtual network, so over the public endpoint; key auth is disabled, calls need an Entra ID token.
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

resource modelDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: deploymentSkuName
    capacity: deploymentCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
    versionUpgradeOption: 'OnceCurrentVersionExpired'
  }
}

output name string = account.name
output endpoint string = account.properties.endpoint
output deploymentName string = modelDeployment.name
