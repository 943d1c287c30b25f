#!/bin/sh
# azd postdeploy hook (azure.yaml): after the first deploy, create the Service Health alert whose action group needs
# the function key. azd exports the environment's values, so BLINDWINDOW_SERVICE_HEALTH_ALERT is visible here.
set -eu
if [ "${BLINDWINDOW_SERVICE_HEALTH_ALERT:-false}" = "true" ]; then
  exit 0
fi
echo "blindwindow: code deployed; provisioning again to create the Service Health alert and action group"
azd env set BLINDWINDOW_SERVICE_HEALTH_ALERT true
azd provision --no-prompt
