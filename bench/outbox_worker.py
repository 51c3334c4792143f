"""One claimer process of the outbox benchmark (started by bench/core.py)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def _drain(url: str, batch: int, start_at: float) -> dict:
    from crm_core.db import create_engine, session_factory
    from crm_core.outbox import OutboxRelay

    engine = create_engine(url, pool_size=2)
    handled: list[int] = []

    async def record(event) -> None:
        handled.append(event.id)

    relay = OutboxRelay(session_factory(engine), {"*": [record]}, batch_size=batch)
    async with engine.connect():  # open a connection before the clock starts
        pass
    await asyncio.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    while await relay.run_once():
        pass
    elapsed = time.perf_counter() - began
    await engine.dispose()
    return {"ids": handled, "elapsed": elapsed}


if __name__ == "__main__":
    url, batch, out, start_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    result = asyncio.run(_drain(url, batch, start_at))
    Path(out).write_text(json.dumps(result))
