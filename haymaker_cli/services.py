"""`haymaker service ...`: register the MCP servers and OpenAPI services agents may use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from haymaker_cli import output
from haymaker_cli.client import every_item
from haymaker_cli.session import call

service_app = typer.Typer(
    help="Outside services for agents: MCP servers and OpenAPI services.", no_args_is_help=True
)


def _auth(
    api_key_setting: str | None,
    header: str | None,
    query: str | None,
    bearer_setting: str | None,
    scope: str | None,
    client_id: str | None,
) -> dict[str, Any]:
    """The auth the options describe: at most one kind; secrets only by setting name."""
    kinds = [kind for kind, given in (("api_key", api_key_setting), ("bearer", bearer_setting),
                                      ("managed_identity", scope)) if given]  # fmt: skip
    if len(kinds) > 1:
        raise typer.BadParameter(f"choose one kind of auth, not {' and '.join(kinds)}")
    if api_key_setting:
        place = {"header": header} if header else {"query": query} if query else {}
        return {"type": "api_key", "setting": api_key_setting, **place}
    if bearer_setting:
        return {"type": "bearer", "setting": bearer_setting}
    if scope:
        return {"type": "managed_identity", "scope": scope, "client_id": client_id}
    return {"type": "none"}


def _show(view: dict[str, Any]) -> None:
    console = output.console
    spec = view["spec"]
    console.print(output.styled("Service: ", (view["name"], "bold"), f" ({view['kind']})"))
    if view.get("title"):
        console.print(f"  API:        {view['title']} {view.get('version', '')}".rstrip())
    console.print(f"  URL:        {spec.get('url') or '(document given inline)'}")
    if view.get("base_url"):
        console.print(f"  Calls go to {view['base_url']}")
    auth = spec["auth"]
    detail = auth.get("setting") or auth.get("scope") or ""
    console.print(f"  Auth:       {auth['type']}{f' ({detail})' if detail else ''}")
    limit = spec.get("rate_limit_per_minute") or 0
    console.print(f"  Rate limit: {f'{limit} calls a minute' if limit else 'none'}")
    console.print(
        f"  Approval:   {spec['approval']}   Registered {str(view['registered_at'])[:19]}"
    )
    table = Table("Tool", "Side effects", "Operation", "Description", title="Tools")
    for tool in view["tools"]:
        operation = f"{tool.get('method') or ''} {tool.get('path') or ''}".strip()
        table.add_row(tool["name"], "yes" if tool["side_effects"] else "no", operation,
                      tool.get("description", ""))  # fmt: skip
    console.print(table)
    for skipped in view.get("skipped", []):
        console.print(f"  Left out:   {skipped}")


@service_app.command("add")
def add(
    name: str,
    mcp: Annotated[str | None, typer.Option("--mcp", help="an MCP server's URL")] = None,
    openapi: Annotated[
        str | None, typer.Option("--openapi", help="the URL of an OpenAPI 3 document")
    ] = None,
    openapi_file: Annotated[
        Path | None, typer.Option("--openapi-file", help="an OpenAPI 3 document (JSON or YAML)")
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="where calls go")] = None,
    operation: Annotated[
        list[str] | None,
        typer.Option(help="allow this operationId (OpenAPI) or tool (MCP); repeat for more"),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="allow the operations with this tag (OpenAPI)")
    ] = None,
    read_only: Annotated[
        list[str] | None, typer.Option("--read-only", help="a tool without side effects")
    ] = None,
    approval: Annotated[str, typer.Option(help="none, side_effects or all")] = "none",
    api_key_setting: Annotated[str | None, typer.Option(help="app setting holding a key")] = None,
    header: Annotated[str | None, typer.Option(help="the api key's header")] = None,
    query: Annotated[str | None, typer.Option(help="the api key's query parameter")] = None,
    bearer_setting: Annotated[
        str | None, typer.Option(help="app setting holding a bearer token")
    ] = None,
    scope: Annotated[str | None, typer.Option(help="managed identity token scope")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="a user-assigned identity's client id")
    ] = None,
    rate_limit: Annotated[int, typer.Option(help="calls a minute, all deployments")] = 0,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="a host the service is on (needed for a private address)"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds a call may take")] = 30,
    prefix: Annotated[str, typer.Option(help="put before every tool name")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="replace a registration")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a service (checked now: its document or its tools)."""
    sources = [given for given in (mcp, openapi, openapi_file) if given is not None]
    if len(sources) != 1:
        raise typer.BadParameter("give exactly one of --mcp, --openapi or --openapi-file")
    body: dict[str, Any] = {
        "name": name,
        "kind": "mcp" if mcp else "openapi",
        "operations": operation or [],
        "read_only": read_only or [],
        "approval": approval,
        "auth": _auth(api_key_setting, header, query, bearer_setting, scope, client_id),
        "rate_limit_per_minute": rate_limit,
        "allowed_hosts": allow_host or [],
        "timeout_seconds": timeout,
        "prefix": prefix,
    }
    if mcp or openapi:
        body["url"] = mcp or openapi
    if openapi_file is not None:
        try:
            body["document"] = openapi_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--openapi-file") from None
    if tag:
        body["tags"] = tag
    if base_url:
        body["base_url"] = base_url
    view = call(lambda client: client.register_service(body, replace=replace))
    output.print_json(view) if as_json else _show(view)


@service_app.command("list")
def list_services(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List registered services (every page)."""

    items = call(lambda client: list(every_item(client.services)))
    if as_json:
        output.print_json(items)
        return
    table = Table("Name", "Kind", "Tools", "Auth", "Rate limit", "URL")
    for item in items:
        spec = item["spec"]
        limit = spec.get("rate_limit_per_minute") or 0
        table.add_row(item["name"], item["kind"], str(len(item["tools"])), spec["auth"]["type"],
                      f"{limit}/min" if limit else "-", spec.get("url") or item.get("base_url") or "")  # fmt: skip
    output.console.print(table)


@service_app.command("show")
def show(name: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a service, its tools and the operations left out."""
    view = call(lambda client: client.service(name))
    output.print_json(view) if as_json else _show(view)


@service_app.command("remove")
def remove(name: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """Remove a registration."""
    output.confirm(f"Remove service {name}?", yes)
    call(lambda client: client.remove_service(name))
    output.console.print(f"Removed service {name}")
