"""vCard 3.0 and 4.0 (RFC 6350): contacts in as customer rows, customers out as cards.

Reading is lenient the way address-book exports need: folded lines, ``item1.TEL``
groups, ``TYPE=`` parameters, escaped ``\\,``/``\\;``/``\\n``, several TEL/EMAIL per
card; vCard 2.1 quoted-printable values are decoded too.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterable, Iterator
from typing import Any

from channels.files.tabular import MAX_FILE_BYTES, FileRefused, decode
from channels.texts import N_

FIELDS = ["name", "phone", "email", "legal_name", "address", "comment"]
_ESCAPES = re.compile(r"\\([\\,;nN])")
_COMPONENTS = re.compile(r"(?<!\\);")  # structured values split on unescaped ";"


def _unescape(value: str) -> str:
    return _ESCAPES.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif lines and lines[-1].endswith("=") and "QUOTED-PRINTABLE" in lines[-1].upper():
            lines[-1] = lines[-1][:-1] + raw  # 2.1 soft line break
        else:
            lines.append(raw)
    return lines


def _property(line: str) -> tuple[str, dict[str, str], str] | None:
    head, sep, value = line.partition(":")
    if not sep:
        return None
    name, *params = head.split(";")
    name = name.rsplit(".", 1)[-1].upper()  # "item1.TEL" -> "TEL"
    parsed = {}
    for param in params:
        key, _, val = param.partition("=")
        parsed[key.upper()] = val
    if parsed.get("ENCODING", "").upper() == "QUOTED-PRINTABLE":
        charset = parsed.get("CHARSET", "utf-8")
        try:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode(charset, "replace")
        except LookupError:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode("utf-8", "replace")
    return name, parsed, value


def read_vcards(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """Each card as (card number, customer row values)."""
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(N_("The file is larger than {mb} MB"), mb=MAX_FILE_BYTES >> 20)
    text, _encoding = decode(data)
    if "BEGIN:VCARD" not in text.upper():
        raise FileRefused(N_("The file has no vCard in it"))
    card: dict[str, list[str]] | None = None
    number = 0
    for line in _unfold(text):
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            card, number = {}, number + 1
            continue
        if upper == "END:VCARD":
            if card is not None:
                yield number, _row(card)
            card = None
            continue
        if card is None or not line.strip():
            continue
        prop = _property(line)
        if prop is not None:
            card.setdefault(prop[0], []).append(prop[2])


def _row(card: dict[str, list[str]]) -> dict[str, str]:
    name = _unescape(card.get("FN", [""])[0]).strip()
    if not name and card.get("N"):
        parts = [_unescape(p).strip() for p in _COMPONENTS.split(card["N"][0])]
        name = " ".join(p for p in (parts[1:2] + parts[2:3] + parts[:1]) if p)
    phones = [_unescape(v).strip() for v in card.get("TEL", [])]
    phones = [p.removeprefix("tel:") for p in phones if p]
    emails = [_unescape(v).strip() for v in card.get("EMAIL", []) if v.strip()]
    org = _unescape(_COMPONENTS.split(card.get("ORG", [""])[0])[0]).strip()
    address = ""
    if card.get("ADR"):
        parts = [_unescape(p).strip() for p in _COMPONENTS.split(card["ADR"][0])]
        address = ", ".join(p for p in parts if p)
    note = _unescape(card.get("NOTE", [""])[0]).strip()
    return {
        "name": name or org,
        "phone": ", ".join(phones),
        "email": ", ".join(emails),
        "legal_name": org,
        "address": address,
        "comment": note,
    }


def _fold(line: str) -> str:
    # 75 octets per line (RFC 6350 3.2), never splitting a UTF-8 character.
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def write_vcards(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """vCard 4.0 text for customer rows (``name``, ``phone``, ``email``... as exported)."""
    for row in rows:
        lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{escape(str(row.get('name') or ''))}"]
        if row.get("id") is not None:
            lines.append(f"UID:urn:firma:customer:{row['id']}")
        if row.get("legal_name"):
            lines.append(f"ORG:{escape(str(row['legal_name']))}")
        for phone in filter(None, (p.strip() for p in str(row.get("phone") or "").split(","))):
            lines.append(f"TEL;VALUE=uri:tel:{phone}")
        for email in filter(None, (e.strip() for e in str(row.get("email") or "").split(","))):
            lines.append(f"EMAIL:{escape(email)}")
        if row.get("address"):
            lines.append(f"ADR:;;{escape(str(row['address']))};;;;")
        if row.get("comment"):
            lines.append(f"NOTE:{escape(str(row['comment']))}")
        lines.append("END:VCARD")
        yield "".join(_fold(line) + "\r\n" for line in lines)
