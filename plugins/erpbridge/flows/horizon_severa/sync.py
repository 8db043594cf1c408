"""Horizon absences -> Severa activities of category Absences, for the user with the same employee code.

Each activity Severa holds for a Horizon absence carries the absence's pk in its name (``MARKER``): that is how
a run finds what earlier runs made, even one cut short between Severa's answer and the ledger (so an absence
is never doubled; two activities for one absence are brought back to one). Changed dates, type or person are
patched; an absence Horizon no longer has (cancelled: deleted there) is deleted in Severa. An absence whose
type is not mapped (``absence_types``), or whose person or type Severa does not have, waits in the quarantine.
A ``dry_run`` reads the same and lists what it would do, writing nothing (Severa and the ledger as they were).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from erpbridge.errors import RecordRejected
from erpbridge.hooks.severa import ABSENCE_CATEGORY
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)

SYSTEM = "visma_horizon"
ENTITY = "absence"
MARKER = re.compile(r"\[Horizon absence (\d+)\]$")
COMPARED = ("name", "activityType", "ownerUser", "startDateTime", "endDateTime", "isAllDay")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    waiting: int = 0
    problems: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)  # a dry run: each change it would make (engine.report's rows)


def activity_name(type_name: str, pk: str) -> str:
    return f"{type_name} [Horizon absence {pk}]"


def desired_activity(absence: dict, user_guid: str, activity_type: dict) -> dict:
    """The Severa activity for ``absence``: all day from DateFrom to the end of DateTo (midnight after it)."""
    first, last = date.fromisoformat(absence["date_from"]), date.fromisoformat(absence["date_to"])
    if last < first:
        raise ValueError(f"DateTo {last} is before DateFrom {first}")
    return {"name": activity_name(activity_type["name"], absence["pk"]),
            "activityType": {"guid": activity_type["guid"]}, "ownerUser": {"guid": user_guid},
            "startDateTime": f"{first.isoformat()}T00:00:00",
            "endDateTime": f"{(last + timedelta(days=1)).isoformat()}T00:00:00", "isAllDay": True}


def changes(current: dict, desired: dict) -> dict:
    """The fields of ``desired`` that ``current`` (as Severa shows it) does not have."""
    def comparable(name: str, value):
        if isinstance(value, dict):
            return value.get("guid")
        if name.endswith("DateTime") and value:
            return str(value)[:19]
        return value
    return {name: desired[name] for name in COMPARED
            if comparable(name, current.get(name)) != comparable(name, desired[name])}


def digest(activity: dict) -> str:
    return hashlib.sha256(repr([activity[name] for name in COMPARED]).encode()).hexdigest()


class AbsenceSync:
    def __init__(self, horizon, severa, ledger: Ledger, absence_types: dict[str, str], *, dry_run: bool = False):
        self.horizon, self.severa, self.ledger = horizon, severa, ledger.of(SYSTEM)
        self.absence_types, self.dry_run = absence_types, dry_run
        self.counts = Counts()

    def run(self, first: date, last: date) -> Counts:
        users = {u["code"]: u["guid"] for page in self.severa.iter_pages("v1/users") for u in page if u.get("code")}
        types = {}
        for page in self.severa.iter_pages("v1/activitytypes"):
            for kind in page:
                if kind.get("category") == ABSENCE_CATEGORY:
                    types.setdefault(kind.get("code") or kind["name"], kind)
                    types.setdefault(kind["name"], kind)
        absences = {a["pk"]: a for a in self.horizon.absences(first, last)}
        ours = self._activities(first, last)
        for pk in sorted(set(ours) - set(absences), key=int):
            absence = self.horizon.absence(pk)  # moved outside the window, or cancelled (gone)
            if absence is None:
                self._remove(pk, ours[pk])
            else:
                absences[pk] = absence
        for pk in sorted(absences, key=int):
            self._one(absences[pk], ours.get(pk, []), users, types)
        if self.dry_run:
            return self.counts
        waiting = [pk for pk in self.ledger.quarantined(ENTITY) if pk not in absences]
        self.ledger.gone(ENTITY, {pk: "cancelled in Horizon (no longer there)" for pk in waiting
                                  if self.horizon.absence(pk) is None})
        self.ledger.commit()
        return self.counts

    def _activities(self, first: date, last: date) -> dict[str, list[dict]]:
        """Severa's absence activities of the window made for a Horizon absence, by its pk (more than one only
        after a crash between create and ledger)."""
        found: dict[str, list[dict]] = {}
        for page in self.severa.iter_absences(first.isoformat(), last.isoformat()):
            for activity in page:
                match = MARKER.search(activity.get("name") or "")
                if match:
                    found.setdefault(match.group(1), []).append(activity)
        return found

    def _one(self, absence: dict, existing: list[dict], users: dict, types: dict) -> None:
        pk, code = absence["pk"], absence.get("employee_code")
        severa_type = self.absence_types.get(absence.get("absence_type") or "")
        if severa_type is None:
            return self._wait(absence, f"absence type {absence.get('absence_type')!r} is not mapped (absence_types in"
                                       " the Variable erpbridge_horizon_severa_absences)")
        if severa_type not in types:
            return self._wait(absence, f"Severa has no activity type {severa_type!r} of category {ABSENCE_CATEGORY}")
        if code not in users:
            return self._wait(absence, f"Severa has no user with code {code!r}")
        try:
            desired = desired_activity(absence, users[code], types[severa_type])
        except ValueError as exc:
            return self._wait(absence, str(exc))
        if not existing:
            mapped = self.ledger.mappings(ENTITY, [pk]).get(pk)
            known = self.severa.get("activities", mapped[0]) if mapped else None
            existing = [known] if known else []
        if self.dry_run:
            return self._preview(absence, existing, desired)
        for extra in existing[1:]:
            self.severa.delete("activities", extra["guid"])
            log.warning("absence %s: a second Severa activity %s removed (never doubled)", pk, extra["guid"])
        try:
            if existing:
                target, diff = existing[0]["guid"], changes(existing[0], desired)
                if diff:
                    self.severa.update("activities", target, diff)
                action = "updated" if diff else "unchanged"
            else:
                target, action = self.severa.create("activities", desired)["guid"], "created"
        except RecordRejected as exc:
            return self._wait(absence, f"Severa refused it: {exc.reason}", exc.category)
        self.ledger.remember(ENTITY, pk, target, digest(desired))
        self.ledger.release(ENTITY, [pk])
        self.ledger.log([Outcome(ENTITY, pk, action, code, target)])
        self.ledger.commit()
        setattr(self.counts, action, getattr(self.counts, action) + 1)

    def _preview(self, absence: dict, existing: list[dict], desired: dict) -> None:
        key = f"absence {absence['pk']} of {absence.get('employee_code')}"
        for extra in existing[1:]:
            self.counts.preview.append({"action": "removed", "key": key, "target_id": extra["guid"],
                                        "reason": "a second Severa activity for this absence"})
        diff = changes(existing[0], desired) if existing else desired
        action = ("updated" if diff else "unchanged") if existing else "created"
        setattr(self.counts, action, getattr(self.counts, action) + 1)
        if diff:
            self.counts.preview.append({"action": action, "key": key, "target_id": existing[0]["guid"] if existing
                                        else None, "payload": diff})

    def _remove(self, pk: str, activities: list[dict]) -> None:
        self.counts.removed += 1
        if self.dry_run:
            self.counts.preview.append({"action": "removed", "key": f"absence {pk}", "target_id": activities[0]["guid"],
                                        "reason": "cancelled in Horizon (no longer there)"})
            return
        for activity in activities:
            self.severa.delete("activities", activity["guid"])
        self.ledger.release(ENTITY, [pk])
        self.ledger.log([Outcome(ENTITY, pk, "gone", None, activities[0]["guid"], "CANCELLED",
                                 "cancelled in Horizon (no longer there): removed from Severa")])
        self.ledger.commit()

    def _wait(self, absence: dict, reason: str, category: str = "UNMAPPED") -> None:
        pk, code = absence["pk"], absence.get("employee_code")
        self.counts.waiting += 1
        self.counts.problems.append(f"absence {pk} of {code}: {reason}")
        if self.dry_run:
            self.counts.preview.append({"action": "quarantined", "key": f"absence {pk} of {code}", "reason": reason})
            return
        self.ledger.quarantine(ENTITY, pk, code, reason, category, absence)
        self.ledger.log([Outcome(ENTITY, pk, "rejected", code, None, category, reason)])
        self.ledger.commit()
