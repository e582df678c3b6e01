// Who may touch the vault's secrets: the app identity reads them (Key Vault references),
// and an optional operator principal writes them.

@description('Name of the existing Key Vault.')
param keyVaultName string

@description('Principal (object) id of the app identity, which reads secrets.')
param appPrincipalId string

@description('Principal (object) id of an operator who sets secrets; empty grants nobody.')
param operatorPrincipalId string = ''

// Key Vault Secrets User
var secretsUserRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
// Key Vault Secrets Officer
var secretsOfficerRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: secretsUserRoleId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// principalType is left out: the operator may be a user, a group or a CI service principal.
resource operatorWritesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, secretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: secretsOfficerRoleId
    principalId: operatorPrincipalId
  }
}
