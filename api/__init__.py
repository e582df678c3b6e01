"""HTTP-triggered functions serving the deployment lifecycle."""
