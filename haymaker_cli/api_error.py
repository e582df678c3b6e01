"""An error answer of the API (problem+json), or no answer: the CLI's exit code and a hint
for each."""

from __future__ import annotations

from typing import Any

from haymaker.errors import UnauthorizedError
from haymaker_cli.retry import RETRYABLE

SIGN_IN_REQUIRED = UnauthorizedError.title  # the API's 401 with App Service authentication
# By the API's problem title (haymaker.errors): where to look for what was not found.
NOT_FOUND_HINTS = {
    "Workload not found": "see the installed workloads with `haymaker workload list`",
    "Deployment not found": "check the deployment id with `haymaker list`",
    "Schedule not found": "check the schedule id with `haymaker schedule list`",
    "Approval not found": "see a deployment's approvals with `haymaker approvals -d ID`",
    "Not found": "no such route: is the URL (HAYMAKER_URL or the profile's) the Haymaker API?",
}


class ApiError(Exception):
    """An error answer (problem+json) or no answer at all; `exit_code` follows the CLI's
    documented codes."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: Any = None,
        *,
        retry_after: float | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self._exit_code = exit_code

    @property
    def exit_code(self) -> int:
        if self._exit_code is not None:
            return self._exit_code
        return {400: 2, 422: 2, 404: 3, 409: 4}.get(self.status or 0, 1)

    @property
    def hint(self) -> str | None:
        if self.status in RETRYABLE and self.retry_after:
            return f"the API asks to retry after {self.retry_after:.0f} s"
        if self.status == 404:
            return NOT_FOUND_HINTS.get(self.title or "")
        if self.status == 401 and self.title == SIGN_IN_REQUIRED:
            return (
                "this app signs callers in with Entra ID: give the profile --entra-scope "
                "api://<app client id>/.default (docs/deploy.md)"
            )
        return {
            401: "check the function key (HAYMAKER_KEY or the profile's key)",
            403: "the caller lacks the role for this operation",
            409: "see the current state with `haymaker status ID`",
            429: "slow down; try again shortly",
            503: "try again shortly",
        }.get(self.status or 0)

    @property
    def title(self) -> str | None:
        """The problem's title: what kind of error (problem+json), e.g. "Workload not found"."""
        title = self.body.get("title") if isinstance(self.body, dict) else None
        return title if isinstance(title, str) else None
