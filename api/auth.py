"""Who is calling, and may they? In Azure with App Service Authentication on
(HAYMAKER_AUTH_MODE=easyauth), the platform injects X-MS-CLIENT-PRINCIPAL for callers signed in
with Entra ID (and strips any the caller sent); their app roles decide. Callers without a
principal came in with a function key, which the host already checked. Locally the mode is
off and every caller may do everything."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from enum import Enum

import azure.functions as func

from haymaker.errors import BadRequestError, ForbiddenError

PRINCIPAL_HEADER = "x-ms-client-principal"
# Where a caller may put the function key (the document's security schemes).
FUNCTION_KEY_HEADER = "x-functions-key"
FUNCTION_KEY_QUERY = "code"
_BY_KEY = "key-"  # caller_key's prefix for a caller known by its function key


def _auth_mode() -> str:
    from haymaker.runtime import get_runtime

    return get_runtime().settings.auth_mode


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
    """Whether the caller may do what needs `role`: anyone when the mode is off, a caller
    with only a function key (the key is the credential), else by the principal's roles."""
    caller = signed_in(req)
    return caller is None or caller.has(role)


def authorize(req: func.HttpRequest, role: Role) -> None:
    """Refuse (403) a signed-in caller who lacks `role`."""
    if _auth_mode() != "easyauth":
        return
    caller = principal(req)
    if caller is not None and not caller.has(role):
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
