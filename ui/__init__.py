"""The dashboard's static files (HTML, ES modules, CSS), served by api.ui under /api/ui/."""
