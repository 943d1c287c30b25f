// Key Vault for the Graph app's credentials. RBAC authorization only (no access policies), soft delete and purge
// protection so a deleted secret can be recovered. The app reads it through a Key Vault reference.
param name string
param location string
param tags object

@secure()
@description('Client secret of the Graph app; empty = leave the secret as it is (set or rotate it out of band).')
param graphClientSecret string

@description('Name of the secret the BLINDWINDOW_GRAPH_CLIENT_SECRET Key Vault reference points at.')
param graphClientSecretName string = 'graph-client-secret'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    // Flex Consumption without a VNet resolves Key Vault references over the public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

// Written only when a value is given, so a later `azd provision` without the secret does not blank it.
resource graphSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(graphClientSecret)) {
  parent: vault
  name: graphClientSecretName
  properties: {
    value: graphClientSecret
    contentType: 'Graph client secret of the blindwindow multi-tenant app'
  }
}

output name string = vault.name
// Versionless URI: the Key Vault reference follows rotations (refreshed within 24 h, or on restart).
output graphClientSecretUri string = '${vault.properties.vaultUri}secrets/${graphClientSecretName}'
