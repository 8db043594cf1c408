"""Flow C (R-C.1, R-C.2): Horizon employee cards -> Active Directory accounts through the registry sync.

Source: employee cards changed since the watermark, plus those whose employment start or end date
was reached since then (a date passing changes no card, but changes the account's state).
Target: AD users keyed by ``employeeID`` (= Horizon employee code): adopted when found, created
otherwise, updated (names, department, title, manager, enabled state), never deleted.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial
from typing import Iterable, Iterator

from erpbridge.engine.registry import Register
from erpbridge.errors import RecordRejected
from erpbridge.flows.horizon_ad import mapping as horizon_ad
from erpbridge.hooks.active_directory import UAC_DISABLED_BIT, ActiveDirectoryHook
from erpbridge.hooks.visma_horizon import VismaHorizonHook

log = logging.getLogger(__name__)

ENTITY = "ad_account"


class HorizonEmployees:
    system = "visma_horizon"

    def __init__(self, hook: VismaHorizonHook, today: date):
        self.hook = hook
        self.today = today

    def changed_pages(self, since: datetime | None) -> Iterator[list[dict]]:
        if since is None:
            yield _managers_first(self.hook.employees())
            return
        found = {e["code"]: e for e in self.hook.employees(since)}
        first_day = since.date() - timedelta(days=1)
        for field in ("employment_start", "employment_end"):
            for employee in self.hook.employees_with_dates_between(field, first_day, self.today):
                found.setdefault(employee["code"], employee)
        if found:
            yield _managers_first(list(found.values()))

    def fetch(self, source_ids: list[str]) -> Iterable[dict]:
        return _managers_first(self.hook.employees(codes=source_ids))

    def source_id(self, record: dict) -> str:
        return record["code"]

    def changed_at(self, record: dict) -> datetime | None:
        stamp = record.get("changed")
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def _managers_first(employees: list[dict]) -> list[dict]:
    """Order a page so that a manager is handled before the people reporting to them."""
    by_code = {e["code"]: e for e in employees}

    def depth(employee: dict, seen: frozenset = frozenset()) -> int:
        manager = by_code.get(employee.get("manager_code"))
        if manager is None or manager["code"] in seen:
            return 0
        return 1 + depth(manager, seen | {employee["code"]})

    return sorted(employees, key=depth)


class ADAccounts:
    """The AD side: find by employeeID, create with a unique sAMAccountName, update to the wanted state."""

    def __init__(self, hook: ActiveDirectoryHook, today: date):
        self.hook = hook
        self.today = today
        self.actions: list[str] = []  # human-readable, for the task log

    def find(self, keys: list[str]) -> dict[str, str]:
        return {code: user["dn"] for code, user in self.hook.users_by("employeeID", keys).items()}

    def create(self, payload: dict) -> str:
        sam = next(c for c in horizon_ad.sam_candidates(payload["sam_base"]) if not self._sam_taken(c))
        cfg = self.hook.settings
        attributes = {
            "sAMAccountName": sam,
            "userPrincipalName": f"{sam}@{cfg['upn_suffix']}",
            "givenName": payload["given_name"] or None,
            "sn": payload["sn"] or None,
            "displayName": payload["display_name"],
            "employeeID": payload["employee_id"],
            "department": payload["department"],
            "title": payload["title"],
            "manager": self._manager_dn(payload),
            "description": None if payload["enabled"] else f"Created disabled by erpbridge {self.today}: {payload['why']}",
        }
        dn = self.hook.create_user(self._free_cn(payload["display_name"], sam), attributes, payload["enabled"])
        self.hook.add_to_groups(dn, cfg["groups"])
        self._did(f"created {sam} ({payload['employee_id']}) {'enabled' if payload['enabled'] else 'disabled'}: "
                  f"{payload['why']}")
        return dn

    def update(self, target_id: str, payload: dict) -> str:
        users = self.hook.users_by("employeeID", [payload["employee_id"]])
        user = users.get(payload["employee_id"])
        if user is None:
            raise RecordRejected(f"the account {target_id} with employeeID {payload['employee_id']} is gone from AD",
                                 "NOT_FOUND")
        dn = user["dn"]
        wanted = {"givenName": payload["given_name"] or None, "sn": payload["sn"] or None,
                  "displayName": payload["display_name"], "department": payload["department"],
                  "title": payload["title"], "manager": self._manager_dn(payload, user.get("manager"))}
        changes = {k: v for k, v in wanted.items() if (user.get(k) or None) != v}
        uac = int(user.get("userAccountControl") or 0)
        disabled = bool(uac & UAC_DISABLED_BIT)
        if payload["enabled"] and disabled:
            changes["userAccountControl"] = uac & ~UAC_DISABLED_BIT
            changes["description"] = f"Enabled by erpbridge {self.today}: {payload['why']}"
        elif not payload["enabled"] and not disabled:
            changes["userAccountControl"] = uac | UAC_DISABLED_BIT
            changes["description"] = f"Disabled by erpbridge {self.today}: {payload['why']}"
        self.hook.modify(dn, changes)
        if user.get("cn") != payload["display_name"] and "displayName" in changes:
            dn = self.hook.rename(dn, self._free_cn(payload["display_name"], user.get("sAMAccountName")))
        joined = self.hook.add_to_groups(dn, [g for g in self.hook.settings["groups"]
                                              if g.lower() not in {m.lower() for m in _list(user.get("memberOf"))}])
        if changes or joined:
            self._did(f"updated {user.get('sAMAccountName')} ({payload['employee_id']}): "
                      f"{', '.join(sorted(changes)) or 'groups'}" + (f" -> {payload['why']}"
                                                                     if "userAccountControl" in changes else ""))
        return dn

    def _sam_taken(self, sam: str) -> bool:
        return self.hook.taken("sAMAccountName", sam) or self.hook.taken(
            "userPrincipalName", f"{sam}@{self.hook.settings['upn_suffix']}")

    def _free_cn(self, display_name: str, sam: str | None) -> str:
        """The display name as the RDN, or ``name (sam)`` when another object already has that RDN."""
        if not self.hook.exists(self.hook.user_dn(display_name)):
            return display_name
        return f"{display_name} ({sam})"

    def _manager_dn(self, payload: dict, current: str | None = None) -> str | None:
        code = payload.get("manager_code")
        if not code:
            return None
        manager = self.hook.users_by("employeeID", [code]).get(code)
        if manager is None:
            log.info("manager %s of %s has no AD account (yet): manager left as it is", code, payload["employee_id"])
            return current
        return manager["dn"]

    def _did(self, text: str) -> None:
        self.actions.append(text)
        log.info("%s", text)


def _list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def build_register(horizon: VismaHorizonHook, ad: ActiveDirectoryHook, today: date) -> tuple[Register, ADAccounts]:
    target = ADAccounts(ad, today)
    register = Register(
        entity=ENTITY,
        source=HorizonEmployees(horizon, today),
        target=target,
        mapping=partial(horizon_ad.account, today=today),
        natural_key=lambda payload: payload["employee_id"],
    )
    return register, target
