// One storage account for the Functions host, the app's tables and queues, and evidence.
// Entra-only: shared keys off, so there is no connection string to leak; TLS 1.2; no anonymous blob access.
param name string
param location string
param tags object
param deploymentContainerName string
param evidenceContainerName string
@description('Containers the Functions host itself uses with identity-based AzureWebJobsStorage: keys and timer/singleton leases.')
param hostContainerNames array

@description('Days of time-based immutability on the evidence container; 0 = no policy.')
param evidenceImmutabilityDays int

// Table and queue names the app uses (../../shared/adapters, DESIGN.md "Storage"). Created here so a missing table
// is a deployment error, not a runtime one; creating an existing one at runtime is not an error either.
var tableNames = [
  'Notices'
  'Tenants'
  'Subscriptions'
  'WindowContributions'
  'Windows'
  'Controls'
  'Findings'
  'Tasks'
  'Deliveries'
  'Cursors'
]
var workQueueNames = ['notices', 'controls', 'deliveries']
// The host moves a message to <queue>-poison after maxDequeueCount (host.json); pre-created so alerts can watch them.
var queueNames = concat(workQueueNames, map(workQueueNames, q => '${q}-poison'))

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
    dnsEndpointType: 'Standard'
    accessTier: 'Hot'
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      // Evidence must survive an operator's mistake for a while even without an immutability policy.
      deleteRetentionPolicy: { enabled: true, days: 14 }
      containerDeleteRetentionPolicy: { enabled: true, days: 14 }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: { publicAccess: 'None' }
    }

    resource hostContainers 'containers' = [
      for container in hostContainerNames: {
        name: container
        properties: { publicAccess: 'None' }
      }
    ]

    resource evidenceContainer 'containers' = {
      name: evidenceContainerName
      properties: { publicAccess: 'None' }

      // Unlocked time-based retention: blobs can be added, not changed or deleted, for the period. The preserve
      // control therefore writes each export once under a new name. Lock the policy by hand when agreed.
      resource immutability 'immutabilityPolicies' = if (evidenceImmutabilityDays > 0) {
        name: 'default'
        properties: {
          immutabilityPeriodSinceCreationInDays: evidenceImmutabilityDays
          allowProtectedAppendWrites: false
        }
      }
    }
  }

  resource tableService 'tableServices' = {
    name: 'default'

    resource tables 'tables' = [
      for table in tableNames: {
        name: table
      }
    ]
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource queues 'queues' = [
      for queue in queueNames: {
        name: queue
      }
    ]
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = account::blobService::deploymentContainer.name
output evidenceContainerName string = account::blobService::evidenceContainer.name
