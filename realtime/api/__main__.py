"""``python -m realtime.api``: serve the control API under uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from stonks.config import get_settings


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="stonks realtime api", description=__doc__)
    parser.add_argument("--host", default=settings.realtime_api_host)
    parser.add_argument("--port", type=int, default=settings.realtime_api_port)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    uvicorn.run("realtime.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
