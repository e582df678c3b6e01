// Durable Task Scheduler and its task hub: the managed Durable Functions backend used when
// durableBackend is 'durableTaskScheduler'.

@description('Name of the scheduler (3-64 letters, digits and hyphens).')
@minLength(3)
@maxLength(64)
param name string

@description('Azure region for the scheduler.')
param location string

@description('Tags applied to the scheduler.')
param tags object

@description('Task hub name; must equal extensions.durableTask.hubName in host.json.')
@minLength(3)
@maxLength(64)
param taskHubName string

@description('Consumption bills per dispatched action; Dedicated bills a fixed monthly price per capacity unit.')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string

@description('Capacity units; used by the Dedicated SKU only.')
@minValue(1)
@maxValue(3)
param dedicatedCapacity int = 1

var skuNameSetting = {
  name: skuName
}
var dedicatedCapacitySetting = {
  capacity: dedicatedCapacity
}
var sku = skuName == 'Dedicated' ? union(skuNameSetting, dedicatedCapacitySetting) : skuNameSetting

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Access is by managed identity only; an empty allow list would reject every caller.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
    sku: sku
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
