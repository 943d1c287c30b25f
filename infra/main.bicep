// blindwindow: everything `azd up` provisions. Subscription scope because it creates the resource group and the
// Service Health alert watches the subscription. Local modules only, so `bicep build` works offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; feeds the resource token and the resource group name.')
param environmentName string

@minLength(1)
@description('Region of every regional resource. Must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group name; empty = rg-<environmentName>.')
param resourceGroupName string = ''

// ---- Microsoft Graph credentials (docs/graph-permissions.md) ----
@description('Application (client) id of the multi-tenant app registration used for every customer tenant. Empty = Graph features off until set.')
param graphClientId string = ''

@description('federatedIdentity: the user-assigned identity is a federated credential of the app (no secret anywhere). clientSecret: a secret kept in Key Vault and read through a Key Vault reference.')
@allowed(['federatedIdentity', 'clientSecret'])
param graphCredentialType string = 'federatedIdentity'

@secure()
@description('Client secret of the Graph app (clientSecret mode only). Empty keeps the secret already in Key Vault.')
param graphClientSecret string = ''

// ---- App behaviour ----
@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@minValue(0)
@maxValue(3650)
@description('Days each preserved evidence blob stays immutable (time-based WORM on the evidence container); 0 = no policy. Created unlocked: lock it by hand once agreed (locking cannot be undone). Remove the unlocked policy before deleting the environment.')
param evidenceImmutabilityDays int = 365

@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out ceiling. Graph throttling (5 requests / 10 s per tenant) is the real limit, not compute.')
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

// ---- Service Health alert (infra/app/alerts.bicep) ----
@description('Create the Service Health alert and action group. Needs the function host key, which exists once code is deployed: azure.yaml turns this on after the first `azd deploy`.')
param serviceHealthAlertEnabled bool = false

@description('Service Health service names to alert on (old and new names, as Service Health spells them). Empty = every service.')
param serviceHealthServices array = [
  'Microsoft Entra ID'
  'Azure Active Directory'
  'Microsoft Sentinel'
  'Azure Sentinel'
  'Microsoft Defender for Cloud'
  'Azure Security Center'
  'Microsoft Purview'
  'Log Analytics'
  'Azure Monitor'
  'Application Insights'
  'Activity Logs & Alerts'
]

@description('Service Health region display names (e.g. Global, West Europe). Empty = every region: security telemetry outages are often Global.')
param serviceHealthRegions array = []

@description('Use an Entra-protected (secure) webhook in the action group; the app then also checks the bearer token.')
param useSecureWebhook bool = false

@description('Secure webhook: object id of the Entra app registration that represents the intake API.')
param webhookAppObjectId string = ''

@description('Secure webhook: Application ID URI of that app (the token audience), e.g. api://blindwindow-intake.')
param webhookIdentifierUri string = ''

@description('Secure webhook: tenant of that app registration; defaults to the deployment tenant.')
param webhookTenantId string = ''

var abbrs = loadJsonContent('abbreviations.json')
// One short, stable token per subscription + environment + region makes global names unique and repeatable.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}blindwindow-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
// Names are computed here and passed to every module (not read back from module outputs) so that What-If can
// predict every resource id before deployment (linter rule what-if-short-circuiting).
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}blindwindow-${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var evidenceContainerName = 'evidence'
var spoolContainerName = 'review-spool'
var hostContainerNames = ['azure-webjobs-hosts', 'azure-webjobs-secrets']
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var logAnalyticsName = '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
var applicationInsightsName = '${abbrs.insightsComponents}${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    hostContainerNames: hostContainerNames
    evidenceContainerName: evidenceContainerName
    spoolContainerName: spoolContainerName
    evidenceImmutabilityDays: evidenceImmutabilityDays
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    graphClientSecret: graphClientSecret
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    // The object id is known only after the identity exists; it is part of the assignment names on purpose, so a
    // re-created identity gets new assignments instead of a conflict.
    #disable-next-line what-if-short-circuiting
    principalId: identity.outputs.principalId
    storageAccountName: storageAccountName
    deploymentContainerName: deploymentContainerName
    hostContainerNames: hostContainerNames
    evidenceContainerName: evidenceContainerName
    spoolContainerName: spoolContainerName
    keyVaultName: keyVaultName
    grantKeyVaultSecretsUser: graphCredentialType == 'clientSecret'
    applicationInsightsName: applicationInsightsName
  }
  dependsOn: [storage, keyVault, monitoring]
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storageAccountName
    deploymentContainerName: deploymentContainerName
    evidenceContainerName: evidenceContainerName
    spoolContainerName: spoolContainerName
    applicationInsightsName: applicationInsightsName
    graphClientId: graphClientId
    graphCredentialType: graphCredentialType
    graphClientSecretUri: keyVault.outputs.graphClientSecretUri
    logLevel: logLevel
    useSecureWebhook: useSecureWebhook
    webhookAudience: webhookIdentifierUri
    webhookTenantId: !empty(webhookTenantId) ? webhookTenantId : tenant().tenantId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
  // The host must not start before it may read its storage and Key Vault.
  dependsOn: [rbac]
}

module alerts 'app/alerts.bicep' = if (serviceHealthAlertEnabled) {
  name: 'alerts'
  scope: rg
  params: {
    actionGroupName: '${abbrs.insightsActionGroups}blindwindow-${resourceToken}'
    alertRuleName: '${abbrs.insightsActivityLogAlerts}service-health-${resourceToken}'
    tags: tags
    functionAppName: functionAppName
    services: serviceHealthServices
    regions: serviceHealthRegions
    useSecureWebhook: useSecureWebhook
    webhookAppObjectId: webhookAppObjectId
    webhookIdentifierUri: webhookIdentifierUri
    webhookTenantId: !empty(webhookTenantId) ? webhookTenantId : tenant().tenantId
  }
  dependsOn: [api]
}

// azd reads these into the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output BLINDWINDOW_INTAKE_URL string = '${api.outputs.uri}/api/notices/azure-monitor'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
