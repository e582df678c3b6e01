"""Who the caller is, for the dashboard: its name and the app roles it holds, so the page
shows only the controls the caller may use. A 401 here means the host wants a function key
(the page then asks for it once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import FUNCTION_KEY_HEADER, FUNCTION_KEY_QUERY, Role, allows, signed_in
from api.operation import Operations, Reply, Response

if TYPE_CHECKING:
    import azure.functions as func

bp = df.Blueprint()
http = Operations(bp, tag="service")


def roles_of(req: func.HttpRequest) -> list[str]:
    """The app roles the caller effectively holds, those each role implies included."""
    return [role.app_role for role in Role if allows(req, role)]


def credential_of(req: func.HttpRequest) -> str:
    if signed_in(req) is not None:
        return "principal"
    from urllib.parse import parse_qs, urlsplit

    if req.headers.get(FUNCTION_KEY_HEADER) or FUNCTION_KEY_QUERY in parse_qs(
        urlsplit(req.url).query
    ):
        return "function_key"
    return "none"


@http.get(
    "me",
    "getMe",
    role=Role.READER,
    responses={200: Response("Caller", "The caller and its roles")},
)
async def me(req: func.HttpRequest) -> Reply:
    """The caller: name, effective app roles, and how it authenticated."""
    from api.schemas import Caller
    from haymaker.runtime import get_runtime

    caller = signed_in(req)
    return Reply(
        Caller(
            name=caller.name if caller else None,
            roles=roles_of(req),
            credential=credential_of(req),
            auth_mode=get_runtime().settings.auth_mode,
        )
    )
