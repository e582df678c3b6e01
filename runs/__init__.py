"""Orchestration runs as the app's functions drive them through the durable client: start,
wake, wait for and purge a deployment's run, and the core services that need those. Shared by
the HTTP API (api/) and the timers (timers/), so neither imports the other."""
