// Data-plane roles the app's identity needs on its storage account, scoped to that account
// only: blobs (host leases, timer locks, deployment package), queues (Durable Functions
// work items) and tables (Durable history and the app's own tables).

@description('Name of the existing storage account.')
param storageAccountName string

@description('Principal (object) id of the app identity.')
param principalId string

var storageRoleIds = [
  // Storage Blob Data Owner
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  // Storage Queue Data Contributor
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  // Storage Table Data Contributor
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: {
  name: guid(storage.id, principalId, roleId)
  scope: storage
  properties: {
    roleDefinitionId: roleId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]
