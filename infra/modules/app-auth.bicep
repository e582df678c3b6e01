// App Service Authentication (Easy Auth, authsettingsV2) on the function app. A caller that
// sends a bearer token for the app registration, or a browser signed in to the dashboard
// through /.auth/login/aad, is validated by the platform, which then injects
// X-MS-CLIENT-PRINCIPAL (the caller's claims, app roles included) for the app to authorize.
// The app roles (Haymaker.Reader, Haymaker.Operator, Haymaker.Approver, Haymaker.Admin) are
// defined on the app registration by scripts/setup-auth.sh; api/auth.py decides what each may
// call. Nothing is required globally: with HAYMAKER_AUTH_MODE=easyauth the app's routes are
// anonymous to the Functions host (which grants no key level to a signed-in caller) and the
// app answers a request without a principal 401.
//
// No client secret: the browser sign-in uses the implicit flow (ID tokens), which needs none;
// the hybrid flow, which would, is not used.

@description('Name of the existing function app.')
@minLength(2)
@maxLength(60)
param siteName string

@description('Application (client) id of the API app registration (AUTH_CLIENT_ID, printed by scripts/setup-auth.sh). Required: an empty value fails validation here, before the setting is written.')
@minLength(36)
@maxLength(36)
param clientId string

@description('Directory (tenant) id of that app registration; pins the token issuer.')
@minLength(36)
@maxLength(36)
param tenantId string

@description('Token audiences accepted besides the client id (which is always accepted); empty means api://<clientId>.')
@maxLength(10)
param allowedAudiences array = []

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

// Issuer of v2.0 access tokens, https://login.microsoftonline.com/<tenant>/v2.0 in the public
// cloud (setup-auth.sh sets requestedAccessTokenVersion 2 on the registration). A tenant-specific
// issuer also makes the platform reject tokens from other tenants.
var openIdIssuer = '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
var defaultAudiences = [
  'api://${clientId}'
]
var audiences = empty(allowedAudiences) ? defaultAudiences : allowedAudiences

// checkov applies its checks of the 'web' config (siteConfig) and of the V1 'authsettings' to
// every Microsoft.Web/sites/config; this is authsettingsV2, which has none of those properties.
// Its own V2 check (CKV_AZURE_56, platform.enabled) runs and passes.
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: Reads the V1 authsettings property 'enabled'; this V2 config enables authentication with platform.enabled, which CKV_AZURE_56 checks.
  // checkov:skip=CKV_AZURE_63: HTTP logging is a property of the 'web' config, not of authsettingsV2.
  // checkov:skip=CKV_AZURE_65: Detailed error messages are a property of the 'web' config, not of authsettingsV2.
  // checkov:skip=CKV_AZURE_66: Failed request tracing is a property of the 'web' config, not of authsettingsV2.
  // checkov:skip=CKV_AZURE_80: .NET Framework version is a property of the 'web' config; the app is Python 3.11.
  // checkov:skip=CKV_AZURE_88: Azure Files mounts are a property of the 'azurestorageaccounts' config, not of authsettingsV2.
  // checkov:skip=CKV_AZURE_222: Public network access is a property of the site (skipped there with its reason), not of authsettingsV2.
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      // Anonymous requests reach the app: health, the OpenAPI document and the dashboard's
      // files stay public, and the app answers everything else 401 without a principal.
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
      routes: {
        apiPrefix: '/.auth'
      }
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: openIdIssuer
        }
        validation: {
          allowedAudiences: audiences
        }
      }
    }
    login: {
      // The dashboard signs in through /.auth/login/aad with the implicit flow (no client
      // secret; scripts/setup-auth.sh --web-host adds the redirect URI); the session is the
      // platform's cookie, and the app reads the principal header, so no tokens are stored.
      tokenStore: {
        enabled: false
      }
    }
  }
}
