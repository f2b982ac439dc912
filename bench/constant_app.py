"""`python -m bench.constant_app`: a FastAPI app whose one route returns a constant, served by
uvicorn exactly as `python -m portal_gateway` serves the gateway (same options), so comparing the
two shows what the gateway itself costs on top of the web server and framework."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/constant")
async def constant() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    # The same options as portal_gateway.__main__ (no proxy headers: FORWARDED_ALLOW_IPS unset).
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        access_log=False,
        log_config=None,
        proxy_headers=False,
        forwarded_allow_ips=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
