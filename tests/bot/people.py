"""Telegram users of the tests: each builds the updates Telegram would send for them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.bot.fake_telegram import FakeTelegram

_message_ids = itertools.count(1)


@dataclass
class TgUser:
    fake: FakeTelegram
    id: int
    first_name: str = "Иван"
    language_code: str = "ru"
    username: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self) -> dict[str, Any]:
        user = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        user["language_code"] = self.language_code
        if self.username:
            user["username"] = self.username
        return user

    def chat(self, kind: str = "private") -> dict[str, Any]:
        if kind == "private":
            return {"id": self.id, "type": "private", "first_name": self.first_name}
        return {"id": -100500, "type": kind, "title": "A group"}

    def _message(self, chat: str = "private", **body: Any) -> dict[str, Any]:
        return {
            "message_id": next(_message_ids),
            "date": 1_770_000_000,
            "chat": self.chat(chat),
            "from": self.user(),
            **body,
        }

    def says(self, text: str, *, chat: str = "private") -> dict[str, Any]:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        body: dict[str, Any] = {"text": text}
        if entities:
            body["entities"] = entities
        return self.fake.update(message=self._message(chat, **body))

    def sends(self, **body: Any) -> dict[str, Any]:
        """Any other message: sticker, photo, document..."""
        return self.fake.update(message=self._message(**body))

    def edits(self, text: str) -> dict[str, Any]:
        message = self._message(text=text, edit_date=1_770_000_100)
        return self.fake.update(edited_message=message)

    def shares(self, phone: str, *, owner: int | None = None) -> dict[str, Any]:
        contact = {"phone_number": phone, "first_name": self.first_name}
        contact["user_id"] = self.id if owner is None else owner
        return self.fake.update(message=self._message(contact=contact))

    def taps(self, data: str, *, message_id: int = 1) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": 1_770_000_000,
            "chat": self.chat(),
            "from": {"id": 4242, "is_bot": True, "first_name": "Firma"},
            "text": "…",
        }
        query = {
            "id": f"cq{next(_message_ids)}",
            "from": self.user(),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return self.fake.update(callback_query=query)

    def pre_checkout(self, payload: str, total: int, currency: str = "RUB") -> dict[str, Any]:
        query = {
            "id": f"pcq{next(_message_ids)}",
            "from": self.user(),
            "currency": currency,
            "total_amount": total,
            "invoice_payload": payload,
        }
        return self.fake.update(pre_checkout_query=query)

    def paid(self, payload: str, total: int, charge_id: str) -> dict[str, Any]:
        payment = {
            "currency": "RUB",
            "total_amount": total,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": f"prov-{charge_id}",
        }
        return self.fake.update(message=self._message(successful_payment=payment))
