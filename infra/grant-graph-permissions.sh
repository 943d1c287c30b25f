#!/usr/bin/env bash
# Configures the blindwindow multi-tenant Graph app in its home tenant and prints the admin-consent URL for each
# customer tenant. Needs the Azure CLI (`az login` to the home tenant as an Application Administrator); it is not
# part of `npm run infra:build` and needs no package registry. See docs/graph-permissions.md for the why.
#
#   infra/grant-graph-permissions.sh --app-id <appId> [options]
#   infra/grant-graph-permissions.sh --create "blindwindow" [options]
#
# Options:
#   --app-id ID                 existing app registration (application/client id) to configure
#   --create NAME               create a multi-tenant app registration with this display name instead
#   --mail-send MODE            entra (default): grant Mail.Send in Entra, then restrict it per customer with an
#                               Exchange application access policy; exchange-rbac: do not grant Mail.Send in Entra,
#                               customers grant it to one mailbox scope with RBAC for Applications
#   --federated-principal-id ID object (principal) id of the function app's user-assigned identity
#                               (azd output AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID): adds it as a federated
#                               credential, so the app needs no secret
#   --consent-redirect-uri URI  where Entra sends the admin after consent (registered on the app);
#                               default https://localhost/blindwindow/consented
#   --customer-tenant ID        print the admin-consent URL for this tenant (repeatable)
#   --dry-run                   print what would change, change nothing
set -euo pipefail

GRAPH_APP_ID="00000003-0000-0000-c000-000000000000" # Microsoft Graph, the same id in every tenant
APP_ID=""
CREATE_NAME=""
MAIL_SEND_MODE="entra"
FEDERATED_PRINCIPAL_ID=""
REDIRECT_URI="https://localhost/blindwindow/consented"
CUSTOMER_TENANTS=()
DRY_RUN=false

fail() { echo "grant-graph-permissions: $*" >&2; exit 1; }
run() { if $DRY_RUN; then echo "dry-run: $*"; else "$@"; fi; }

while [ $# -gt 0 ]; do
  case "$1" in
    --app-id) APP_ID="${2:?}"; shift 2 ;;
    --create) CREATE_NAME="${2:?}"; shift 2 ;;
    --mail-send) MAIL_SEND_MODE="${2:?}"; shift 2 ;;
    --federated-principal-id) FEDERATED_PRINCIPAL_ID="${2:?}"; shift 2 ;;
    --consent-redirect-uri) REDIRECT_URI="${2:?}"; shift 2 ;;
    --customer-tenant) CUSTOMER_TENANTS+=("${2:?}"); shift 2 ;;
    --dry-run) DRY_RUN=true; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done

command -v az >/dev/null || fail "the Azure CLI (az) is required"
case "$MAIL_SEND_MODE" in entra|exchange-rbac) ;; *) fail "--mail-send must be entra or exchange-rbac" ;; esac
[ -n "$APP_ID" ] || [ -n "$CREATE_NAME" ] || fail "give --app-id or --create"

HOME_TENANT="$(az account show --query tenantId -o tsv)"

# Application permissions (app roles of Microsoft Graph) and why blindwindow needs each: docs/graph-permissions.md.
ROLES=(ServiceHealth.Read.All AuditLog.Read.All Directory.Read.All IdentityRiskEvent.Read.All Tasks.ReadWrite.All)
if [ "$MAIL_SEND_MODE" = "entra" ]; then ROLES+=(Mail.Send); fi

if [ -n "$CREATE_NAME" ]; then
  if $DRY_RUN; then
    APP_ID="<new-app-id>"
    echo "dry-run: az ad app create --display-name $CREATE_NAME --sign-in-audience AzureADMultipleOrgs"
  else
    APP_ID="$(az ad app create --display-name "$CREATE_NAME" --sign-in-audience AzureADMultipleOrgs \
      --web-redirect-uris "$REDIRECT_URI" --query appId -o tsv)"
    echo "created app registration $CREATE_NAME: $APP_ID"
  fi
else
  AUDIENCE="$(az ad app show --id "$APP_ID" --query signInAudience -o tsv)"
  [ "$AUDIENCE" = "AzureADMultipleOrgs" ] || fail "app $APP_ID has signInAudience $AUDIENCE; blindwindow needs AzureADMultipleOrgs"
  run az ad app update --id "$APP_ID" --web-redirect-uris "$REDIRECT_URI"
fi

# Resolve role ids by name from the Graph service principal instead of hard-coding GUIDs.
ACCESS=""
for role in "${ROLES[@]}"; do
  id="$(az ad sp show --id "$GRAPH_APP_ID" --query "appRoles[?value=='$role' && contains(allowedMemberTypes, 'Application')].id | [0]" -o tsv)"
  [ -n "$id" ] || fail "Microsoft Graph has no application permission $role"
  ACCESS="${ACCESS:+$ACCESS,}{\"id\":\"$id\",\"type\":\"Role\"}"
  echo "  $role = $id"
done
# Replaces the app's Graph permissions with exactly this list (least privilege: nothing else stays behind).
REQUIRED="[{\"resourceAppId\":\"$GRAPH_APP_ID\",\"resourceAccess\":[$ACCESS]}]"
run az ad app update --id "$APP_ID" --required-resource-accesses "$REQUIRED"

if [ -n "$FEDERATED_PRINCIPAL_ID" ]; then
  # Managed identity as a federated credential: the function app exchanges its MI token for an app token in any
  # customer tenant; there is no secret to store or rotate.
  FIC="{\"name\":\"blindwindow-function-identity\",\"issuer\":\"https://login.microsoftonline.com/$HOME_TENANT/v2.0\",\"subject\":\"$FEDERATED_PRINCIPAL_ID\",\"audiences\":[\"api://AzureADTokenExchange\"],\"description\":\"blindwindow function app user-assigned identity\"}"
  run az ad app federated-credential create --id "$APP_ID" --parameters "$FIC"
fi

echo
echo "Home tenant: $HOME_TENANT. App (client) id: $APP_ID (azd env set BLINDWINDOW_GRAPH_CLIENT_ID $APP_ID)"
echo "A Global Administrator or Privileged Role Administrator of EACH customer tenant opens its URL and consents:"
encoded_redirect="$(printf '%s' "$REDIRECT_URI" | sed -e 's/%/%25/g' -e 's/:/%3A/g' -e 's#/#%2F#g')"
if [ ${#CUSTOMER_TENANTS[@]} -eq 0 ]; then CUSTOMER_TENANTS=("<customer-tenant-id>"); fi
for tenant in "${CUSTOMER_TENANTS[@]}"; do
  echo "  $tenant: https://login.microsoftonline.com/$tenant/adminconsent?client_id=$APP_ID&redirect_uri=$encoded_redirect"
done

echo
echo "Mail.Send must reach one sender mailbox only. In each customer tenant, an Exchange administrator runs"
echo "(Exchange Online PowerShell, Connect-ExchangeOnline):"
if [ "$MAIL_SEND_MODE" = "entra" ]; then
  echo "  New-ApplicationAccessPolicy -AppId $APP_ID -PolicyScopeGroupId <mail-enabled security group holding the sender> -AccessRight RestrictAccess -Description 'blindwindow sender only'"
  echo "  Test-ApplicationAccessPolicy -AppId $APP_ID -Identity <sender@customer.example>   # AccessCheckResult: Granted"
  echo "  Test-ApplicationAccessPolicy -AppId $APP_ID -Identity <other.user@customer.example> # AccessCheckResult: Denied"
else
  echo "  New-ServicePrincipal -AppId $APP_ID -ObjectId <object id of the blindwindow enterprise app in that tenant> -DisplayName blindwindow"
  echo "  New-ManagementScope -Name blindwindow-sender -RecipientRestrictionFilter \"PrimarySmtpAddress -eq '<sender@customer.example>'\""
  echo "  New-ManagementRoleAssignment -App $APP_ID -Role 'Application Mail.Send' -CustomResourceScope blindwindow-sender"
  echo "  Test-ServicePrincipalAuthorization -Identity $APP_ID -Resource <sender@customer.example>"
fi
