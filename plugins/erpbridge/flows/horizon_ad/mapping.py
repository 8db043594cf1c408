"""Flow C: a Horizon employee card -> the Active Directory account it should have (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from erpbridge.errors import RecordRejected

SAM_MAX = 20
# Letters NFKD does not decompose into a base letter + marks (Polish ł, Nordic ø, German ß, ...).
SPECIAL_LETTERS = {
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
    "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ħ": "h", "Ħ": "h", "ı": "i", "ŀ": "l", "Ŀ": "l",
    "ŧ": "t", "Ŧ": "t", "ŋ": "n", "Ŋ": "n", "ĸ": "k",
}


def ascii_name(value: str) -> str:
    """Lower-case ASCII letters and digits of ``value``: diacritics dropped (Bērziņš -> berzins, Żółć -> zolc)."""
    spelled = "".join(SPECIAL_LETTERS.get(ch, ch) for ch in value or "")
    decomposed = unicodedata.normalize("NFKD", spelled)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def sam_base(first_name: str, last_name: str) -> str:
    """``first.last`` in ASCII, at most 20 characters (the last name is shortened first)."""
    first, last = ascii_name(first_name), ascii_name(last_name)
    if not first and not last:
        raise RecordRejected("the name has no letters that can make an account name", "INVALID_NAME")
    if not first or not last:
        return (first or last)[:SAM_MAX]
    first = first[:SAM_MAX - 2]  # leave room for "." and at least one letter of the last name
    return f"{first}.{last}"[:SAM_MAX]


def sam_candidates(base: str, limit: int = 999):
    """base, base2, base3, ... each cut to 20 characters."""
    yield base[:SAM_MAX]
    for n in range(2, limit + 1):
        suffix = str(n)
        yield base[:SAM_MAX - len(suffix)].rstrip(".") + suffix


def employment_state(employee: dict, today: date) -> tuple[bool, str]:
    """(enabled, why) for the card on ``today``: enabled from the start date until the end date is
    reached or the termination is registered, whichever comes first."""
    start, end = employee.get("employment_start"), employee.get("employment_end")
    if employee.get("termination_registered"):
        return False, "termination registered in Horizon" + (f" (employment end {end})" if end else "")
    if end and date.fromisoformat(end) <= today:
        return False, f"employment ended {end}"
    if not start or date.fromisoformat(start) > today:
        return False, f"employment starts {start}" if start else "no employment start date"
    return True, f"employed since {start}"


def account(employee: dict, today: date) -> dict:
    """The account's wanted state; its hash decides whether AD is touched at all."""
    code = (employee.get("code") or "").strip()
    if not code:
        raise RecordRejected("employee card without an employee code", "MISSING_CODE")
    first, last = (employee.get("first_name") or "").strip(), (employee.get("last_name") or "").strip()
    if not first and not last:
        raise RecordRejected("employee card without a name", "MISSING_NAME")
    enabled, why = employment_state(employee, today)
    return {
        "employee_id": code,
        "given_name": first,
        "sn": last,
        "display_name": f"{first} {last}".strip(),
        "sam_base": sam_base(first, last),
        "department": (employee.get("department") or "").strip() or None,
        "title": (employee.get("position") or "").strip() or None,
        "manager_code": employee.get("manager_code") or None,
        "enabled": enabled,
        "why": why,
    }
