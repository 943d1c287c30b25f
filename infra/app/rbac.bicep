// Every role assignment blindwindow needs, and nothing more. All are for the app's user-assigned identity and are
// scoped as narrowly as the service allows: blob roles to single containers, Key Vault to the one vault, metrics
// to the one Application Insights component. Names are guid(scope, principal, role) so re-deploys are idempotent.
param principalId string
param storageAccountName string
param deploymentContainerName string
param hostContainerNames array
param evidenceContainerName string
param spoolContainerName string
param keyVaultName string
@description('Only the clientSecret Graph credential reads Key Vault; the federated option needs no secret.')
param grantKeyVaultSecretsUser bool
param applicationInsightsName string

// Storage Table Data Contributor: read/write entities of the app's tables (Notices, Windows, Tasks, ...).
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Storage Queue Data Contributor: queue triggers and outputs (notices, controls, deliveries) and <queue>-poison,
// which the host creates and writes.
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Blob Data Owner: what the Functions host requires for identity-based AzureWebJobsStorage and for the Flex
// Consumption deployment package; granted per container, not on the account.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Blob Data Contributor: write and read preserved evidence and the review spool; the app never needs to
// manage ACLs or owners.
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Key Vault Secrets User: resolve the @Microsoft.KeyVault(...) reference of the Graph client secret (read only).
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
// Monitoring Metrics Publisher: send telemetry to Application Insights with Entra auth (local auth is disabled).
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deploymentContainer 'containers' existing = {
      name: deploymentContainerName
    }

    resource evidenceContainer 'containers' existing = {
      name: evidenceContainerName
    }

    resource spoolContainer 'containers' existing = {
      name: spoolContainerName
    }
  }
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for container in hostContainerNames: {
    parent: storageAccount::blobService
    name: container
  }
]

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Tables and queues are scoped to the account: the account is dedicated to this app, and the host creates
// <queue>-poison queues itself, which a per-queue scope could not cover before they exist.
resource tableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, principalId, storageTableDataContributor)
  scope: storageAccount
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

resource queueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, principalId, storageQueueDataContributor)
  scope: storageAccount
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
  }
}

resource deploymentBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::blobService::deploymentContainer.id, principalId, storageBlobDataOwner)
  scope: storageAccount::blobService::deploymentContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in hostContainerNames: {
    name: guid(hostContainers[i].id, principalId, storageBlobDataOwner)
    scope: hostContainers[i]
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    }
  }
]

resource evidenceBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::blobService::evidenceContainer.id, principalId, storageBlobDataContributor)
  scope: storageAccount::blobService::evidenceContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

// The review spool: write, read and delete the pages of slices being read.
resource spoolBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::blobService::spoolContainer.id, principalId, storageBlobDataContributor)
  scope: storageAccount::blobService::spoolContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

resource keyVaultSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantKeyVaultSecretsUser) {
  name: guid(keyVault.id, principalId, keyVaultSecretsUser)
  scope: keyVault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}
