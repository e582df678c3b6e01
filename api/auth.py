"""Who is calling, and may they? Two modes, by HAYMAKER_AUTH_MODE:

- `off` (the default, and locally): the Functions host checks function keys on every route
  that needs a role; a caller it lets in may do everything.
- `easyauth` (App Service authentication with Entra ID in front): the platform injects
  X-MS-CLIENT-PRINCIPAL for signed-in callers (and strips any a caller sent); their app roles
  decide, and a caller without one gets a 401 with a Bearer challenge. The host grants no key
  level to a signed-in caller (Azure/azure-functions-host#11394), so in this mode the routes
  are anonymous to the host and function keys are not used: the principal is the credential.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import azure.functions as func

from haymaker.errors import BadRequestError, ForbiddenError, UnauthorizedError

PRINCIPAL_HEADER = "x-ms-client-principal"
SIGN_IN_PATH = "/.auth/login/aad"  # App Service authentication's Entra ID sign-in
# Settings.auth_mode's alias (a test keeps them one): read here without importing the
# settings, which the app's import leaves for the first request.
AUTH_MODE_SETTING = "HAYMAKER_AUTH_MODE"
# Where a caller may put the function key (the document's security schemes).
FUNCTION_KEY_HEADER = "x-functions-key"
FUNCTION_KEY_QUERY = "code"
_BY_KEY = "key-"  # caller_key's prefix for a caller known by its function key


def _auth_mode() -> str:
    from haymaker.runtime import get_runtime

    return get_runtime().settings.auth_mode


def host_checks_keys(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether routes that need a role ask the host for a function key: read as the routes
    are declared (at import, before any request). Only a well-formed `easyauth` turns keys
    off; anything else keeps them, and the request-time settings report a malformed value."""
    mode = environ.get(AUTH_MODE_SETTING, "off")
    return mode.strip().lower() != "easyauth"


class Role(Enum):
    """The app roles. Admin includes every other role; Operator and Approver each include
    Reader, but not each other: who runs deployments need not be who approves their steps."""

    READER = "Haymaker.Reader"
    OPERATOR = "Haymaker.Operator"
    APPROVER = "Haymaker.Approver"
    ADMIN = "Haymaker.Admin"

    @property
    def app_role(self) -> str:
        return self.value

    @property
    def granted_by(self) -> frozenset[Role]:
        """The roles that include this one (itself among them)."""
        return frozenset(role for role in Role if self in _INCLUDES[role])


_INCLUDES: dict[Role, frozenset[Role]] = {
    Role.READER: frozenset({Role.READER}),
    Role.OPERATOR: frozenset({Role.OPERATOR, Role.READER}),
    Role.APPROVER: frozenset({Role.APPROVER, Role.READER}),
    Role.ADMIN: frozenset(Role),
}


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]

    def has(self, role: Role) -> bool:
        return any(granted.app_role in self.roles for granted in role.granted_by)


def principal(req: func.HttpRequest) -> Principal | None:
    header = req.headers.get(PRINCIPAL_HEADER)
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header))
        claims = data.get("claims") or []
        role_type = data.get("role_typ") or "roles"
        name_type = data.get("name_typ") or "name"
        roles = frozenset(c["val"] for c in claims if c.get("typ") in (role_type, "roles"))
        name = next(
            (c["val"] for c in claims if c.get("typ") == name_type), data.get("userId", "unknown")
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BadRequestError("the client principal header is not readable") from None
    return Principal(str(name), roles)


def signed_in(req: func.HttpRequest) -> Principal | None:
    """The caller's principal, when the app trusts the header (App Service authentication)."""
    return principal(req) if _auth_mode() == "easyauth" else None


def allows(req: func.HttpRequest, role: Role) -> bool:
    """Whether the caller may do what needs `role`: anyone the host let in when the mode is
    off, else a signed-in caller holding it."""
    if _auth_mode() != "easyauth":
        return True
    caller = principal(req)
    return caller is not None and caller.has(role)


def authorize(req: func.HttpRequest, role: Role) -> None:
    """Refuse a caller who is not signed in (401) or lacks `role` (403), when App Service
    authentication decides."""
    if _auth_mode() != "easyauth":
        return
    caller = principal(req)
    if caller is None:
        raise UnauthorizedError(
            "sign in with Microsoft Entra ID: send an access token for the Haymaker app "
            f"registration (Authorization: Bearer), or sign in to the dashboard ({SIGN_IN_PATH})"
        )
    if not caller.has(role):
        wider = sorted(granted.app_role for granted in role.granted_by - {role})
        raise ForbiddenError(
            f"{caller.name} needs the {role.app_role} role"
            + (f" (or {' or '.join(wider)})" if wider else "")
            + " for this"
        )


# Fetch metadata the browser sends with every request: a page of another site (or of a
# sibling subdomain) cannot make a signed-in browser change anything here. Clients that are
# not browsers send none of it.
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def refuse_cross_site(req: func.HttpRequest) -> None:
    """Refuse (403) a state-changing request a browser sent on behalf of another site."""
    site = (req.headers.get("sec-fetch-site") or "").lower()
    if site in _FOREIGN_SITES:
        raise ForbiddenError(
            f"a {site} browser request may not change anything; use the dashboard or the API"
        )


def decided_by(req: func.HttpRequest) -> str:
    """Who a decision is recorded as: the signed-in caller's principal name, else "function
    key" for a caller the host let in by its key (else, locally without keys, "anonymous")."""
    if _auth_mode() == "easyauth":
        caller = principal(req)
        if caller is not None:
            return caller.name
    return "function key" if caller_key(req).startswith(_BY_KEY) else "anonymous"


def caller_key(req: func.HttpRequest) -> str:
    """A stable, non-secret name for the caller, for rate limits: the principal, else a hash
    of the function key, else the client address."""
    if _auth_mode() == "easyauth":
        caller = principal(req)
        if caller is not None:
            return "principal-" + hashlib.sha256(caller.name.encode()).hexdigest()[:16]
    key = req.headers.get(FUNCTION_KEY_HEADER) or req.params.get(FUNCTION_KEY_QUERY)
    if key:
        return _BY_KEY + hashlib.sha256(key.encode()).hexdigest()[:16]
    address = (req.headers.get("x-forwarded-for") or "local").split(",")[0].strip()
    return "address-" + hashlib.sha256(address.encode()).hexdigest()[:16]
