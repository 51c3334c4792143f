"""What a transport answers for one message: every channel records the same shape."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str
    detail: str = ""
    permanent: bool = False  # a failure that retrying will not fix
    # The address itself is bad (SMTP 5xx at RCPT, a gateway's invalid number):
    # later campaigns skip it.
    bad_address: bool = False
    # Not the recipient's fault and no use going on (the gateway's balance ran out,
    # the API key is wrong): the campaign pauses with this detail as the reason.
    fatal: bool = False
    # The service could not be reached at all (no connection, a gateway's 5xx): not the
    # recipient's fault and likely to pass; the row waits, its attempt given back, and
    # the campaign rests a little before trying again.
    outage: bool = False
    # The recipient cannot be reached on this channel (blocked the bot): skipped.
    unreachable: bool = False
    # The service asked to slow down (Telegram 429): wait this long, then resend.
    retry_after: float | None = None
