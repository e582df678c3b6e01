"""The integration layer: outside services as tool sources. An MCP server (streamable HTTP)
or an OpenAPI 3 service becomes a `ToolSource` whose every call is one tool call like a
built-in one, under the same host rules as http_fetch, with credentials read from app
settings (or a managed identity) at call time and per-service rate limits shared by every
deployment. See docs/integrations.md.

- models: what an operator registers (ServiceSpec), what a deployment names (McpServerConfig),
  what is stored (ServiceRecord) and the per-deployment listings (McpListing, OpenApiListing).
- mcp / openapi: the two sources; openapi_document compiles a document into operations.
- registration: a spec validated (document fetched and compiled, MCP tools listed) into a record.
- factory: the sources of one deployment, from its config, the registrations and the settings.

Nothing here is imported by the app until an agent or a registration needs it.
"""
