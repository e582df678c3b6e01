"""The `haymaker` command line (see haymaker_cli.command). An outer layer: it talks to the
platform over its HTTP API and imports from the core only the workload manifests."""

from haymaker_cli.command import app, main

__all__ = ["app", "main"]
