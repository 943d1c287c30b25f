// The function app on Flex Consumption (Node 22), running as the user-assigned identity.
// Its app settings are the names shared/config.ts reads; `npm run infra:build` checks that (infra/settingsCheck.ts),
// so keep every setting inside `var appSettings` below, as literal property names.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param evidenceContainerName string
param spoolContainerName string
param applicationInsightsName string
param graphClientId string
@allowed(['federatedIdentity', 'clientSecret'])
param graphCredentialType string
param graphClientSecretUri string
param logLevel string

@description('Detection threshold overrides as JSON (README "Detections"); empty keeps the defaults.')
param detectionThresholds string = ''
param useSecureWebhook bool
param webhookAudience string
param webhookTenantId string
param instanceMemoryMB int
param maximumInstanceCount int

@minValue(1)
@maxValue(3600)
param retryAfterSeconds int = 30

@description('Your own tenant id (registered as a tenant): its contacts receive watchdog tasks. Empty: stored, not delivered.')
param operatorTenantId string = ''

@minValue(1)
@maxValue(20)
param deliveryMaxAttempts int = 6

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var endpoints = storageAccount.properties.primaryEndpoints

var appSettings = union(
  {
    // Identity-based host storage (no connection string: shared keys are disabled on the account).
    AzureWebJobsStorage__accountName: storageAccount.name
    AzureWebJobsStorage__blobServiceUri: endpoints.blob
    AzureWebJobsStorage__queueServiceUri: endpoints.queue
    AzureWebJobsStorage__tableServiceUri: endpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Application Insights with Entra auth (local auth is disabled on the component).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
    BLINDWINDOW_RETRY_AFTER_SECONDS: string(retryAfterSeconds)
    BLINDWINDOW_OPERATOR_TENANT_ID: operatorTenantId
    BLINDWINDOW_DELIVERY_MAX_ATTEMPTS: string(deliveryMaxAttempts)
    BLINDWINDOW_GRAPH_CLIENT_ID: graphClientId
    BLINDWINDOW_EVIDENCE_CONTAINER: evidenceContainerName
    BLINDWINDOW_SPOOL_CONTAINER: spoolContainerName
    BLINDWINDOW_LOG_LEVEL: logLevel
    // Control runner: a turn works 8 minutes (the function timeout is 10) and stops after its current page; 3 slices of
    // ~30,000 records fetched at once, one more waiting its turn.
    BLINDWINDOW_CONTROL_BUDGET_SECONDS: '480'
    BLINDWINDOW_SWEEP_AFTER_SECONDS: '300'
    BLINDWINDOW_REVIEW_CONCURRENCY: '3'
    BLINDWINDOW_TURNS_PER_INSTANCE: '4'
    BLINDWINDOW_REVIEW_SLICE_RECORDS: '30000'
    BLINDWINDOW_REVIEW_BASELINE_DAYS: '7'
    BLINDWINDOW_REVIEW_SETTLE_MINUTES: '30'
    BLINDWINDOW_REVIEW_FOLLOW_HOURS: '6'
    BLINDWINDOW_DETECTION_THRESHOLDS: detectionThresholds
  },
  graphCredentialType == 'clientSecret'
    ? {
        // Resolved by the platform with keyVaultReferenceIdentity; the secret never appears in the template.
        BLINDWINDOW_GRAPH_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${graphClientSecretUri})'
      }
    : {
        // The app's identity is a federated credential of the Graph app: no secret at all.
        BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID: identityClientId
      },
  useSecureWebhook
    ? {
        BLINDWINDOW_WEBHOOK_AUDIENCE: webhookAudience
        BLINDWINDOW_WEBHOOK_TENANT_ID: webhookTenantId
      }
    : {}
)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
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
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${endpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // Flex Consumption sets FUNCTIONS_WORKER_RUNTIME and the Node version from here; they are not app settings.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }

  // azd deploys with Entra tokens (OneDeploy); basic-auth publishing stays off.
  resource ftpPublishing 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  resource scmPublishing 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
}

output name string = functionApp.name
output uri string = 'https://${functionApp.properties.defaultHostName}'
