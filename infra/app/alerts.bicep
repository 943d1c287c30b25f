// Service Health -> action group -> POST /api/notices/azure-monitor (the noticeWebhook function).
// Deployed only once the app has code (main.bicep serviceHealthAlertEnabled): the URL carries the host's default
// function key, read with listKeys, and the Functions host answers key requests reliably only after a deploy.
param actionGroupName string
param alertRuleName string
param tags object
param functionAppName string

@description('Service Health service names; empty = all services.')
param services array
@description('Service Health region display names; empty = all regions.')
param regions array

param useSecureWebhook bool
param webhookAppObjectId string
param webhookIdentifierUri string
param webhookTenantId string

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// Microsoft.Web/sites/host has no Bicep type definitions (a symbolic `existing` resource raises BCP081), so the keys
// are listed by resource id; the result stays inside this module and is never an output.
var hostKeys = listKeys('${functionApp.id}/host/default', '2024-04-01')

// The action group posts the common alert schema; the key is in the query string because action groups cannot add
// headers. With the secure webhook the request also carries an Entra token for webhookIdentifierUri.
var intakeUrl = 'https://${functionApp.properties.defaultHostName}/api/notices/azure-monitor?code=${uriComponent(hostKeys.functionKeys.default)}'

var secureWebhook = useSecureWebhook
  ? {
      useAadAuth: true
      objectId: webhookAppObjectId
      identifierUri: webhookIdentifierUri
      tenantId: webhookTenantId
    }
  : {
      useAadAuth: false
    }

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'blindwindow'
    enabled: true
    webhookReceivers: [
      union(
        {
          name: 'blindwindow-intake'
          serviceUri: intakeUrl
          useCommonAlertSchema: true
        },
        secureWebhook
      )
    ]
  }
}

// Every incident type that can mean lost or delayed telemetry: an Incident (outage), Security (e.g. the 2024
// logging-agent bug was communicated as a security incident), Informational (PIRs, RCA follow-ups) and ActionRequired.
// Maintenance is left out: planned work does not lose logs.
var incidentTypes = ['Incident', 'Security', 'Informational', 'ActionRequired']

var baseConditions = [
  {
    field: 'category'
    equals: 'ServiceHealth'
  }
  {
    anyOf: map(incidentTypes, t => {
      field: 'properties.incidentType'
      equals: t
    })
  }
]
var serviceCondition = empty(services)
  ? []
  : [
      {
        field: 'properties.impactedServices[*].ServiceName'
        containsAny: services
      }
    ]
var regionCondition = empty(regions)
  ? []
  : [
      {
        field: 'properties.impactedServices[*].ImpactedRegions[*].RegionName'
        containsAny: regions
      }
    ]

resource serviceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: alertRuleName
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    description: 'Service Health notices that may mean missing or delayed security telemetry, sent to blindwindow.'
    scopes: [subscription().id]
    condition: {
      allOf: concat(baseConditions, serviceCondition, regionCondition)
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
output alertRuleId string = serviceHealthAlert.id
