"""Options that several commands share."""

from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
