// One storage account for the Functions host, the app's tables and queues, and evidence.
// Entra-only: shared keys off, so there is no connection string to leak; TLS 1.2; no anonymous blob access.
param name string
param location string
param tags object
param deploymentContainerName string
param evidenceContainerName string
@description('Container where reviews keep the pages of the slices they are reading (normalised records, not evidence).')
param spoolContainerName string
@minValue(1)
@description('Days after which a spooled page left behind (a review that never came back) is deleted.')
param spoolRetentionDays int = 7
@description('Containers the Functions host itself uses with identity-based AzureWebJobsStorage: keys and timer/singleton leases.')
param hostContainerNames array

@minValue(0)
@maxValue(146000)
@description('Days each evidence blob stays immutable (WORM) after it is written; 0 = no policy.')
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

    // Evidence: a container-level time-based retention policy (WORM). Every blob in the container can be created,
    // read and listed, but not overwritten, changed (metadata included) or deleted until it is
    // evidenceImmutabilityDays old, counted from its own creation. Chosen over version-level immutability because:
    // - the app writes each blob and manifest exactly once (Put Block List / Put Blob with If-None-Match: *), so
    //   there are no versions to protect; a container policy makes an overwrite fail on the service too, where
    //   version-level WORM would accept it as a new current version;
    // - version-level WORM needs blob versioning on the whole account, which would also version the Functions
    //   host's lease and key blobs and the deployment packages written here all the time;
    // - the policy is declared with the container, before any evidence exists.
    // Both "protected append" settings stay off: nothing may be added to a committed evidence blob. The policy is
    // created unlocked (reversible; Bicep cannot lock it): lock it by hand once the period is agreed
    // (az storage container immutability-policy lock). While protected blobs exist the account cannot be deleted
    // (azd down) until the unlocked policy is removed.
    // Review spool: pages of slices being read, deleted by the app as each slice is checkpointed; the lifecycle rule
    // below removes what a review abandoned. No immutability: nothing here is evidence.
    resource spoolContainer 'containers' = {
      name: spoolContainerName
      properties: { publicAccess: 'None' }
    }

    resource evidenceContainer 'containers' = {
      name: evidenceContainerName
      properties: { publicAccess: 'None' }

      resource immutability 'immutabilityPolicies' = if (evidenceImmutabilityDays > 0) {
        name: 'default'
        properties: {
          immutabilityPeriodSinceCreationInDays: evidenceImmutabilityDays
          allowProtectedAppendWrites: false
          allowProtectedAppendWritesAll: false
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

// Spooled pages a review left behind (superseded, restarted, or a tenant removed mid-review) are deleted after
// spoolRetentionDays. Not matched: the evidence container, and the spool's detector-state/ (a control's detector
// state too large for its Controls row, referenced by the row until the app replaces it).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'review-spool-expiry'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${spoolContainerName}/pages/'] }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: spoolRetentionDays } } }
          }
        }
      ]
    }
  }
}
