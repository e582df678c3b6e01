// Optional Event Grid custom topic for the app's lifecycle events (CloudEvents 1.0). Local
// (key) auth is off: the app publishes with its managed identity, which gets EventGrid Data
// Sender on this topic only.

@description('Name of the custom topic.')
@minLength(3)
@maxLength(50)
param name string

@description('Azure region for the topic.')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Principal (object) id of the identity that publishes the events.')
param principalId string

// EventGrid Data Sender
var dataSenderRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'd5a91429-5739-47e2-a06b-3470a27159e7')

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = {
  // checkov:skip=CKV_AZURE_106: The app publishes from Flex Consumption without a virtual network; publishing needs an Entra ID token (local auth is off).
  // checkov:skip=CKV_AZURE_193: The app publishes from Flex Consumption without a virtual network; publishing needs an Entra ID token (local auth is off).
  name: name
  location: location
  tags: tags
  identity: {
    type: 'None'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource dataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, dataSenderRoleId)
  scope: topic
  properties: {
    roleDefinitionId: dataSenderRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
