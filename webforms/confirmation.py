"""The registration confirmation letter, in the registrant's language.

The forms door writes it (its words live in this door's catalog); messaging sends it
(``messaging/form_confirmations.py``); ``firma/worker.py`` hands this function over.
"""

from __future__ import annotations

from collections.abc import Callable

from crm_core.forms.confirmations import Confirmation, ConfirmationLetter
from webforms.i18n import language, translator
from webforms.render import template

WriteConfirmation = Callable[[Confirmation], ConfirmationLetter]


def confirmation_writer(default_language: str = "ru") -> WriteConfirmation:
    """``write(info)`` → subject, text and HTML of the confirmation."""

    def write(info: Confirmation) -> ConfirmationLetter:
        lang = language(info.lang, default_language)
        _ = translator(lang)
        day = info.day.strftime("%d.%m.%Y") if info.day else ""
        subject = _("Registration confirmed: {title}, {date}", title=info.form_title, date=day)
        lines = [
            _("Hello, {name}!", name=info.name) if info.name else _("Hello!"),
            "",
            _("You are registered for {date}: {title}.", date=day, title=info.form_title),
        ]
        if info.success_message:
            lines += ["", info.success_message]
        lines += ["", _("If your plans change, just reply to this letter.")]
        html = template(lang, "confirmation_email.html").render(
            lang=lang,
            subject=subject,
            name=info.name,
            day=day,
            title=info.form_title,
            message=info.success_message,
        )
        return ConfirmationLetter(subject=subject, text="\n".join(lines), html=html)

    return write
