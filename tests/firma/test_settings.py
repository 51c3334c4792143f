"""Settings that reach the worker: FIRMA_TELEGRAM_KEEP_DAYS sets how long the bot keeps
its sent pushes and staff messages, and a value too short to be safe is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from firma.settings import Settings


def test_keep_days_below_a_week_and_a_day_is_refused(monkeypatch):
    monkeypatch.setenv("FIRMA_TELEGRAM_KEEP_DAYS", "3")
    with pytest.raises(ValidationError, match="telegram_keep_days"):
        Settings()


async def test_the_staff_desk_keeps_what_the_setting_says(runtime):
    from firma.worker import build_reminder_sender

    runtime.settings = runtime.settings.model_copy(
        update={"telegram_bot_token": "123:abc", "telegram_keep_days": 45}
    )
    desk = build_reminder_sender(runtime)
    try:
        assert desk is not None and desk.cleanup.keep == timedelta(days=45)
    finally:
        while runtime.closers:  # the bot session it opened; the engine stays the suite's
            await runtime.closers.pop()()


def test_campaign_workers_share_the_rate_through_the_configured_redis():
    settings = Settings(redis_url="redis://127.0.0.1:6379/3")
    assert settings.messaging().redis_url == "redis://127.0.0.1:6379/3"


def test_channel_caps_and_quiet_hours_reach_the_campaigns(monkeypatch):
    monkeypatch.setenv("FIRMA_EMAIL_SEND_RATE", "12.5")
    monkeypatch.setenv("FIRMA_SMS_SEND_RATE", "3")
    monkeypatch.setenv("FIRMA_SMS_QUIET_HOURS", " 22 - 8 ")
    config = Settings().messaging()
    assert (config.email_max_rate, config.sms_max_rate) == (12.5, 3.0)
    assert config.sms_quiet_hours == (22, 8)
    assert Settings(sms_quiet_hours="0-0").messaging().sms_quiet_hours == (0, 0)  # none
    defaults = Settings().model_copy(update={"email_send_rate": None, "sms_send_rate": None})
    assert defaults.messaging().email_max_rate is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FIRMA_SMS_QUIET_HOURS", "25-9", "0-23"),
        ("FIRMA_SMS_QUIET_HOURS", "ночью", "sms_quiet_hours"),
        ("FIRMA_SMS_QUIET_HOURS", "21:00-09:00", "sms_quiet_hours"),
        ("FIRMA_EMAIL_SEND_RATE", "0", "email_send_rate"),
        ("FIRMA_SMS_SEND_RATE", "-1", "sms_send_rate"),
        ("FIRMA_EMAIL_SEND_RATE", "fast", "email_send_rate"),
    ],
)
def test_bad_caps_and_quiet_hours_are_refused(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
