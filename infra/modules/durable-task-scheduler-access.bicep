// Lets the app identity run orchestrations on the scheduler's task hubs.

@description('Name of the existing Durable Task Scheduler.')
param schedulerName string

@description('Principal (object) id of the app identity.')
param principalId string

// Durable Task Data Contributor, per
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/integration#durable-task-data-contributor
var durableTaskDataContributorRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0ad04412-c4d5-4796-b79c-f76d14c8d402')

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = {
  name: schedulerName
}

resource durableTaskDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, principalId, durableTaskDataContributorRoleId)
  scope: scheduler
  properties: {
    roleDefinitionId: durableTaskDataContributorRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
