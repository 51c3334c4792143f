"""Running a campaign runner in tests."""

from __future__ import annotations

from messaging.runner import CampaignRunner


async def drain(runner: CampaignRunner) -> None:
    """Passes until one sends nothing: every row due now has its result."""
    while await runner.run_once():
        pass
