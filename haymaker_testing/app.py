"""The platform's real Functions app, found where `function_app` is installed."""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path

from devhost.loader import FunctionApp, load

# Timer schedules are `%SETTING%` expressions, resolved when the app is indexed.
_INDEX_SETTINGS = {"HAYMAKER_SCHEDULER_CRON": "0 * * * * *"}


def app_dir() -> Path:
    """The directory of `function_app.py` (the repository root, or site-packages)."""
    spec = importlib.util.find_spec("function_app")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the function_app module was not found: install haymaker-functions "
            "(pip install -e . in its repository)"
        )
    return Path(spec.origin).parent


@cache
def load_function_app() -> FunctionApp:
    """The app, indexed once per process: the SDK refuses a second `get_functions()`."""
    missing = [name for name in _INDEX_SETTINGS if name not in os.environ]
    os.environ.update({name: _INDEX_SETTINGS[name] for name in missing})
    try:
        return load(app_dir())
    finally:
        for name in missing:
            os.environ.pop(name, None)
