"""Load a v2-model Functions app as the Python worker does; sort its functions by trigger."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.routes import Route, RouteError, compile_route
from haymaker.ncrontab import Schedule


@dataclass
class HttpFunction:
    name: str
    route: str
    methods: frozenset[str] | None  # None: every method
    auth_level: str  # "anonymous" | "function" | "admin"
    fn: Any
    request_param: str
    client_param: str | None
    compiled: Route = field(init=False)

    def __post_init__(self) -> None:
        try:
            self.compiled = compile_route(self.route)
        except RouteError as error:
            raise LoadError(f"function {self.name}: {error}") from None


@dataclass
class ActivityFunction:
    name: str
    fn: Any
    input_param: str


@dataclass
class OrchestratorFunction:
    name: str
    handle: Any  # handle(context_json: str) -> str


@dataclass
class TimerFunction:
    name: str
    schedule: Schedule
    run_on_startup: bool
    fn: Any
    timer_param: str
    client_param: str | None


@dataclass
class FunctionApp:
    http: list[HttpFunction] = field(default_factory=list)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)
    orchestrators: dict[str, OrchestratorFunction] = field(default_factory=dict)
    timers: list[TimerFunction] = field(default_factory=list)
    task_hub: str | None = None


class LoadError(Exception):
    pass


_SETTING = re.compile(r"%([A-Za-z0-9_.:-]+)%")


def resolve_settings(text: str) -> str:
    """Replace `%NAME%` with app setting NAME, as the host does in binding expressions."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"app setting {name} (used as %{name}%) is not set")
        return os.environ[name]

    return _SETTING.sub(value, text)


def _binding(function: Any, binding_type: str) -> Any | None:
    for binding in function.get_bindings():
        if binding.type == binding_type:
            return binding
    return None


def load(app_dir: Path, module: str = "function_app") -> FunctionApp:
    app_dir = app_dir.resolve()
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    previous = Path.cwd()
    os.chdir(app_dir)  # azure.durable_functions reads ./host.json on import
    try:
        loaded = importlib.import_module(module)
    finally:
        os.chdir(previous)
    registers = [
        value for value in vars(loaded).values() if isinstance(value, func.FunctionRegister)
    ]
    if len(registers) != 1:
        raise LoadError(f"{module} must define exactly one function app, found {len(registers)}")
    return index(registers[0], app_dir)


def index(app: func.FunctionRegister, app_dir: Path | None = None) -> FunctionApp:
    result = FunctionApp(task_hub=_task_hub(app_dir))
    for function in app.get_functions():
        trigger = function.get_trigger()
        name = function.get_function_name()
        client = _binding(function, "durableClient")
        client_param = client.name if client else None
        kind = trigger.type
        if kind == "httpTrigger":
            methods = trigger.methods
            result.http.append(
                HttpFunction(
                    name=name,
                    route=trigger.route or name,
                    methods=frozenset(str(m.value).upper() for m in methods) if methods else None,
                    auth_level=str(
                        getattr(trigger.auth_level, "value", trigger.auth_level)
                    ).lower(),
                    fn=function.get_user_function(),
                    request_param=trigger.name,
                    client_param=client_param,
                )
            )
        elif kind == "activityTrigger":
            activity = ActivityFunction(name, function.get_user_function(), trigger.name)
            # call_activity(builder) sends the Python name; an `activity=` override names it too
            for alias in {name, function._name, getattr(trigger, "activity", None)}:
                if alias:
                    result.activities[alias] = activity
        elif kind == "orchestrationTrigger":
            orchestrator = OrchestratorFunction(name, function.get_user_function())
            for alias in {name, function._name, getattr(trigger, "orchestration", None)}:
                if alias:
                    result.orchestrators[alias] = orchestrator
        elif kind == "timerTrigger":
            try:
                schedule = Schedule.parse(resolve_settings(trigger.schedule))
            except ValueError as exc:
                raise LoadError(f"timer function {name}: {exc}") from None
            result.timers.append(
                TimerFunction(
                    name=name,
                    schedule=schedule,
                    run_on_startup=bool(trigger.run_on_startup),
                    fn=function.get_user_function(),
                    timer_param=trigger.name,
                    client_param=client_param,
                )
            )
        else:
            raise LoadError(f"function {name}: the local host does not support {kind} triggers")
    # Literal segments beat parameters, as in the Functions host's router.
    result.http.sort(key=lambda f: f.compiled.precedence)
    return result


def _task_hub(app_dir: Path | None) -> str | None:
    if app_dir is None:
        return None
    host_json = app_dir / "host.json"
    if not host_json.exists():
        return None
    settings = json.loads(host_json.read_text())
    return settings.get("extensions", {}).get("durableTask", {}).get("hubName")
