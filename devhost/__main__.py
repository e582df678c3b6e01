"""python -m devhost [--port 7071] [--app-dir .]"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from devhost.server import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default 7071)")
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--app-dir", type=Path, default=Path.cwd(), help="folder of function_app.py"
    )
    parser.add_argument(
        "--function-key", default=None, help="require this key on function-level routes"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    run(args.app_dir, port=args.port, host=args.host, function_key=args.function_key)


if __name__ == "__main__":
    main()
