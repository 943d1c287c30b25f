# azd postdeploy hook (azure.yaml), Windows twin of enable-service-health-alert.sh.
$ErrorActionPreference = 'Stop'
if ($env:BLINDWINDOW_SERVICE_HEALTH_ALERT -eq 'true') { exit 0 }
Write-Host 'blindwindow: code deployed; provisioning again to create the Service Health alert and action group'
azd env set BLINDWINDOW_SERVICE_HEALTH_ALERT true
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
azd provision --no-prompt
exit $LASTEXITCODE
