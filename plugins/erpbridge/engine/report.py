"""Readable task-log tables for previews (dry runs)."""

from __future__ import annotations

import json

from tabulate import tabulate

MAX_ROWS = 500


def preview_table(preview: list[dict]) -> str:
    if not preview:
        return "(nothing)"
    rows = [[p.get("action"), p.get("key"), p.get("target_id") or "", p.get("reason") or
             json.dumps(p.get("payload"), ensure_ascii=False, default=str)] for p in preview[:MAX_ROWS]]
    more = f"\n... and {len(preview) - MAX_ROWS} more" if len(preview) > MAX_ROWS else ""
    return tabulate(rows, headers=["action", "key", "target id", "payload / reason"], tablefmt="simple") + more
