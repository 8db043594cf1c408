"""P1, P2 and P4: the Severa -> Netvisor customer register through RegistrySync with the real hooks and ledger."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

import requests

from bench.env import FAST, RESULTS, ROOT, World, cores
from include.simulators.client import SimulatorAdmin

FLOW = "severa_netvisor_registers"
CUSTOMERS = "/rest-api/v1/customers"
SEED_CHUNK = 1000


# --- data ---------------------------------------------------------------------------------------

def severa_customers(n: int, start: int = 100_001) -> list[dict]:
    """n Severa customers whose last changes are spread over the year before yesterday.

    Spread as a real register's are: the watermark overlap (10 min before the newest change seen)
    then re-reads about as few unchanged records as in production. Seeding them all with one
    stamp would put the whole register inside the overlap window.
    """
    newest = datetime.now(timezone.utc) - timedelta(days=1)
    spacing = timedelta(days=365) / max(n, 1)
    return [{
        "name": f"Asiakas {i} Oy", "number": i, "email": f"laskut{i}@example.fi",
        "vatNumber": f"FI{i % 10_000_000:07d}{i % 10}",
        "headquarterAddress": {"addressline": f"Katu {i % 200}", "postalCode": f"{i % 99_999:05d}",
                               "city": "Helsinki", "country": "FI"},
        "lastUpdatedDateTime": (newest - (start + n - 1 - i) * spacing).isoformat(),
    } for i in range(start, start + n)]


def seed_severa(sim: SimulatorAdmin, n: int) -> list[str]:
    guids: list[str] = []
    records = severa_customers(n)
    started = time.perf_counter()
    for at in range(0, n, SEED_CHUNK):
        guids += sim.seed(customers=records[at:at + SEED_CHUNK])["customers"]
    print(f"  seeded {n} Severa customers in {time.perf_counter() - started:.1f} s", flush=True)
    return guids


def severa_api_session(sim: SimulatorAdmin) -> tuple[requests.Session, dict]:
    """Another Severa user's session (not our hook): token + headers."""
    from include.simulators.severa import DEFAULT_CONFIG as SV

    http = requests.Session()
    token = http.post(f"{sim.base}/rest-api/v1/token", json={"client_id": SV["client_id"],
                      "client_secret": SV["client_secret"], "scope": ""}, headers={"Client_Id": SV["client_id"]},
                      timeout=30).json()["access_token"]
    return http, {"Authorization": f"Bearer {token}", "Client_Id": SV["client_id"]}


def change_in_severa(sim: SimulatorAdmin, guids: list[str], count: int) -> list[str]:
    """Rename ``count`` customers spread over the register, through Severa's own API (PATCH)."""
    http, headers = severa_api_session(sim)
    step = max(1, len(guids) // count)
    chosen = guids[::step][:count]
    for guid in chosen:
        http.patch(f"{sim.base}{CUSTOMERS}/{guid}", headers=headers, timeout=30,
                   json=[{"op": "Replace", "path": "/name", "value": f"Renamed {guid[:8]} Oy"}]).raise_for_status()
    return chosen


# --- running the engine ---------------------------------------------------------------------------

def run_customer_sync(full: bool = False):
    """One customers sync as the sync_customers task runs it (default settings: Severa -> Netvisor)."""
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.flows.severa_netvisor.registers import build_registers
    from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
    from erpbridge.hooks.netvisor import NetvisorHook
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.ledger.store import Ledger, RunContext

    ledger = Ledger.connect(FLOW, RunContext("bench", f"bench__{uuid.uuid4().hex[:8]}", "sync_customers", 1))
    hooks = NetvisorHook("netvisor_default"), SeveraHook("severa_default")
    try:
        [register] = build_registers("customers", SeveraNetvisorSettings(), *hooks)
        return RegistrySync(register, ledger, full=full).run()
    finally:
        ledger.close()


def traffic(world: World, nv_since: int, sv_since: int) -> dict:
    nv = world.netvisor.requests(nv_since)
    sv = world.severa.requests(sv_since)
    return {
        "netvisor_writes": sum(r["method"] == "POST" for r in nv),
        "netvisor_reads": sum(r["method"] == "GET" for r in nv),
        "severa_reads": sum(r["method"] == "GET" for r in sv),
        "severa_tokens": sum(r["path"].endswith("/token") for r in sv),
        "severa_429": sum(r["status"] == 429 for r in sv),
    }


def timed_sync(world: World, full: bool = False) -> tuple[float, dict, object]:
    nv_since, sv_since = world.netvisor.last_seq(), world.severa.last_seq()
    started = time.perf_counter()
    result = run_customer_sync(full)
    seconds = time.perf_counter() - started
    return seconds, traffic(world, nv_since, sv_since), result


# --- P1 ---------------------------------------------------------------------------------------------

def p1(world: World, customers: int, changed: int, severa_rate: float) -> dict:
    print(f"P1 change-proportional cost: {customers} customers, {changed} changed ({cores()})", flush=True)
    world.severa.reset()
    world.netvisor.reset()
    world.severa.configure(**FAST)
    world.use_connections(severa_rate)
    world.fresh_ledger()
    guids = seed_severa(world.severa, customers)

    full_s, full_t, full_r = timed_sync(world)
    print(f"  full sync:        {full_s:8.2f} s  {full_r.summary()}  {full_t}", flush=True)
    change_in_severa(world.severa, guids, changed)
    inc_s, inc_t, inc_r = timed_sync(world)
    print(f"  incremental sync: {inc_s:8.2f} s  {inc_r.summary()}  {inc_t}", flush=True)

    pages = math.ceil(changed / 100)
    ratio = inc_s / full_s
    goals = {
        "writes = changed": inc_t["netvisor_writes"] == changed,
        "reads <= pages + 1": inc_t["severa_reads"] <= pages + 1,
        "ratio < 5%": ratio < 0.05,
    }
    print(f"  P1 {cores()} customers={customers} changed={changed}: writes={inc_t['netvisor_writes']} "
          f"severa_reads={inc_t['severa_reads']} (pages of changes={pages}) netvisor_reads={inc_t['netvisor_reads']} "
          f"full={full_s:.2f}s incremental={inc_s:.3f}s ratio={ratio:.2%}", flush=True)
    _goals("P1", goals)
    return {"customers": customers, "changed": changed, "full_s": full_s, "incremental_s": inc_s, "ratio": ratio,
            "full_traffic": full_t, "incremental_traffic": inc_t, "goals": goals,
            "full_per_record_ms": 1000 * full_s / customers}


# --- P2 ---------------------------------------------------------------------------------------------

def bare_wire(world: World) -> tuple[float, int]:
    """Only the required requests with requests: Severa token + paged GETs, one Netvisor add per customer."""
    from include.simulators.netvisor import DEFAULT_CONFIG as NV
    from include.simulators.severa import DEFAULT_CONFIG as SV

    started = time.perf_counter()
    sv_base, nv_base = world.urls["severa"] + "/rest-api/v1", world.urls["netvisor"]
    sv, nv = requests.Session(), requests.Session()
    token = sv.post(f"{sv_base}/token", json={"client_id": SV["client_id"], "client_secret": SV["client_secret"],
                                               "scope": ""}, timeout=60).json()["access_token"]
    sv_headers = {"Authorization": f"Bearer {token}", "client_id": SV["client_id"]}
    mac_key = f"{NV['customer_key']}&{NV['partner_key']}".encode("iso-8859-1")
    add_url = f"{nv_base}/customer.nv?method=add"
    params: dict = {"rowCount": 100}
    sent = 0
    while True:
        page = sv.get(f"{sv_base}/customers", params=params, headers=sv_headers, timeout=60)
        page.raise_for_status()
        for c in page.json():
            address = c.get("headquarterAddress") or {}
            vat = c.get("vatNumber") or ""
            fields = [("internalidentifier", str(c["number"])),
                      ("externalidentifier", f"{vat[2:9]}-{vat[9]}" if vat.startswith("FI") else vat),
                      ("name", c["name"]), ("streetaddress", address.get("addressline")),
                      ("city", address.get("city")), ("postnumber", address.get("postalCode"))]
            body = "".join(f"<{t}>{escape(v or '')}</{t}>" for t, v in fields)
            body += f'<country type="ISO-3166">{escape(address.get("country") or "")}</country>'
            body += f"<email>{escape(c.get('email') or '')}</email><isactive>{int(c.get('isActive', True))}</isactive>"
            xml_body = ("<?xml version='1.0' encoding='utf-8'?>\n<root><customer><customerbaseinformation>"
                        f"{body}</customerbaseinformation></customer></root>").encode()
            now = datetime.now(timezone.utc)
            stamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
            unix, transaction = str(int(now.timestamp())), uuid.uuid4().hex
            message = "&".join([add_url, "bench", NV["customer_id"], stamp, "FI", NV["organisation_id"], transaction,
                                unix, NV["customer_key"], NV["partner_key"]])
            headers = {
                "X-Netvisor-Authentication-Sender": "bench", "X-Netvisor-Authentication-CustomerId": NV["customer_id"],
                "X-Netvisor-Authentication-PartnerId": NV["partner_id"],
                "X-Netvisor-Authentication-Timestamp": stamp, "X-Netvisor-Authentication-TimestampUnix": unix,
                "X-Netvisor-Authentication-TransactionId": transaction, "X-Netvisor-Interface-Language": "FI",
                "X-Netvisor-Organisation-ID": NV["organisation_id"],
                "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "HMACSHA256",
                "X-Netvisor-Authentication-UseHTTPResponseStatusCodes": "1",
                "X-Netvisor-Authentication-MAC": hmac.new(mac_key, message.encode("iso-8859-1"),
                                                          hashlib.sha256).hexdigest(),
                "Content-Type": "text/xml; charset=utf-8",
            }
            reply = nv.post(add_url, data=xml_body, headers=headers, timeout=120)
            if reply.status_code != 200 or b"<Status>OK</Status>" not in reply.content:
                raise RuntimeError(f"bare-wire add failed: {reply.status_code} {reply.text[:300]}")
            sent += 1
        next_token = page.headers.get("NextPageToken")
        if not next_token:
            return time.perf_counter() - started, sent
        params = {"rowCount": 100, "pageToken": next_token}


def p2(world: World, customers: int, severa_rate: float, profile: bool = True) -> dict:
    print(f"P2 overhead: full sync of {customers} customers vs bare wire ({cores()})", flush=True)
    world.severa.reset()
    world.netvisor.reset()
    world.severa.configure(**FAST)
    world.use_connections(severa_rate)
    seed_severa(world.severa, customers)

    def fresh_target():
        world.netvisor.reset()
        world.fresh_ledger()

    fresh_target()
    bare_s, sent = bare_wire(world)
    assert sent == customers, sent
    print(f"  bare wire:  {bare_s:8.2f} s  ({sent} adds)", flush=True)
    fresh_target()
    engine_s, engine_t, result = timed_sync(world)
    print(f"  full sync:  {engine_s:8.2f} s  {result.summary()}  {engine_t}", flush=True)
    ratio = engine_s / bare_s
    goals = {"full sync <= 1.3x bare wire": ratio <= 1.3}
    print(f"  P2 {cores()} customers={customers}: bare_wire={bare_s:.2f}s full_sync={engine_s:.2f}s "
          f"ratio={ratio:.2f}x", flush=True)
    _goals("P2", goals)
    out = {"customers": customers, "bare_wire_s": bare_s, "full_sync_s": engine_s, "ratio": ratio,
           "full_traffic": engine_t, "goals": goals}
    if profile:
        fresh_target()
        out["profile"] = profile_sync(world)
    return out


def profile_sync(world: World, top: int = 15) -> dict:
    """The full sync again under pyinstrument: time by layer and the top functions by self time."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    started = time.perf_counter()
    run_customer_sync()
    wall = time.perf_counter() - started
    session = profiler.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "p2_profile.txt").write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    (RESULTS / "p2_profile.html").write_text(profiler.output_html())

    functions: Counter = Counter()
    layers: Counter = Counter()

    def walk(frame, inherited: str):
        children = [c for c in frame.children if not c.is_synthetic]
        own = frame.time - sum(c.time for c in children)
        path = frame.file_path or ""
        if frame.function.startswith("socket."):
            layer = "waiting on the socket (simulator work + loopback)"
        elif path.startswith("<") or path.endswith(("/typing.py", "/abc.py")):
            layer = inherited  # builtins and frozen stdlib count for the library that called them
        else:
            layer = _layer(path)
        if own > 0:
            functions[f"{frame.function} ({frame.file_path_short}:{frame.line_no})"] += own
            layers[layer] += own
        for child in children:
            walk(child, layer)

    root = session.root_frame()
    walk(root, "other")
    total = root.time
    print(f"  profile: {total:.2f} s sampled of {wall:.2f} s wall (full text in bench/results/p2_profile.txt)")
    print("  time by layer (self time of the frames in it):")
    for name, seconds in layers.most_common():
        print(f"    {seconds:7.2f} s {seconds / total:6.1%}  {name}")
    print(f"  top {top} functions by self time:")
    for name, seconds in functions.most_common(top):
        print(f"    {seconds:7.2f} s {seconds / total:6.1%}  {name}")
    return {"sampled_s": total, "wall_s": wall,
            "layers": {k: round(v, 3) for k, v in layers.most_common()},
            "top": [(k, round(v, 3)) for k, v in functions.most_common(top)]}


def _layer(path: str) -> str:
    path = path.replace("\\", "/")
    rules = [
        ("/socket.py", "waiting on the socket (simulator work + loopback)"),
        ("/ssl.py", "waiting on the socket (simulator work + loopback)"),
        ("/http/client.py", "http.client (stdlib HTTP)"), ("/http/cookiejar.py", "requests"),
        ("/urllib/request.py", "requests: proxy settings read from os.environ on every request"),
        ("/urllib/parse.py", "requests"),
        ("/urllib3/", "urllib3"), ("/requests/", "requests"),
        ("/psycopg", "psycopg (ledger round trips)"),
        ("/tenacity/", "tenacity (retry wrapper)"),
        ("/erpbridge/hooks/", "erpbridge hooks"), ("/erpbridge/engine/", "erpbridge sync engine"),
        ("/erpbridge/ledger/", "erpbridge ledger"), ("/erpbridge/flows/", "erpbridge flows (mappings)"),
        ("/xml/", "XML (ElementTree)"), ("/defusedxml/", "XML (ElementTree)"),
        ("/json/", "json"), ("/logging/", "logging"), ("/email/", "http.client (stdlib HTTP)"),
        ("/airflow/", "airflow (connections, secrets masking)"), ("/structlog/", "airflow (connections, secrets masking)"),
        ("/uuid.py", "uuid/hmac/hash"), ("/hmac.py", "uuid/hmac/hash"), ("/hashlib.py", "uuid/hmac/hash"),
    ]
    for needle, name in rules:
        if needle in path:
            return name
    return "other (" + (path.rsplit("/", 1)[-1] or "?") + ")"


# --- P4 ---------------------------------------------------------------------------------------------

def p4(world: World, records: int, mode: str, severa_rate: float) -> dict:
    """Peak RSS (VmHWM) of a fresh process that runs one customers sync of ``records``."""
    print(f"P4 memory: {records} customers through one sync, mode={mode} ({cores()})", flush=True)
    world.fresh_ledger()
    if mode == "wire":
        world.severa.reset()
        world.netvisor.reset()
        world.severa.configure(**FAST)
        world.use_connections(severa_rate)
        seed_severa(world.severa, records)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bench.registers", "--p4-worker", mode, str(records)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"P4 worker failed:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["goals"] = {"peak RSS <= 250 MB": figures["peak_rss_mb"] <= 250}
    print(f"  P4 {cores()} records={records} mode={mode}: RSS after imports={figures['baseline_rss_mb']:.0f} MB "
          f"peak RSS={figures['peak_rss_mb']:.0f} MB (+{figures['peak_rss_mb'] - figures['baseline_rss_mb']:.0f} MB "
          f"for the sync; current RSS {figures['rss_before_mb']:.0f} -> {figures['rss_after_mb']:.0f} MB) "
          f"time={figures['seconds']:.1f}s {figures['summary']}", flush=True)
    _goals("P4", figures["goals"])
    return figures


def _synthetic_register():
    """The customers register with the real mapping and key, over an in-process source and target.

    Source pages are Severa-shaped JSON dicts made page by page (as the hook yields them); the target
    hands out ids. Only the HTTP exchange is missing: its memory is per page, not per record.
    """
    from erpbridge.engine.registry import Register
    from erpbridge.flows.severa_netvisor import mapping as m

    class Source:
        def __init__(self, n):
            self.n = n

        def changed_pages(self, since):
            for at in range(0, self.n, 100):
                page = severa_customers(min(100, self.n - at), start=100_001 + at)
                for record in page:
                    record["guid"] = str(uuid.uuid4())
                    record["lastUpdatedDateTime"] = record["lastUpdatedDateTime"].replace("+00:00", "Z")
                yield page

        def fetch(self, source_ids):
            return []

        def source_id(self, record):
            return record["guid"]

        def changed_at(self, record):
            return datetime.fromisoformat(record["lastUpdatedDateTime"].replace("Z", "+00:00"))

    class Target:
        def __init__(self):
            self.next = 0

        def find(self, keys):
            return {}

        def create(self, payload):
            self.next += 1
            return str(self.next)

        def update(self, target_id, payload):
            return target_id

    def register(n):
        return Register("customer", Source(n), Target(), m.severa_customer_to_netvisor, lambda p: p["code"])

    return register


def _peak_rss_mb() -> float:
    """This process image's peak RSS: VmHWM. (ru_maxrss is not used: Linux carries it over from the
    forked parent across exec, so a worker started by a big bench process would report the parent's size.)"""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _p4_worker(mode: str, records: int) -> None:
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
    from erpbridge.ledger.store import Ledger, RunContext
    from erpbridge.flows.severa_netvisor.registers import build_registers  # noqa: F401  (imports as the task does)

    import airflow.sdk  # noqa: F401  the task process has the SDK loaded

    import psutil

    baseline = _peak_rss_mb()
    rss_before = psutil.Process().memory_info().rss / 2**20
    started = time.perf_counter()
    if mode == "wire":
        result = run_customer_sync()
    else:
        ledger = Ledger.connect(FLOW, RunContext("bench", "p4", "sync_customers", 1))
        try:
            result = RegistrySync(_synthetic_register()(records), ledger).run()
        finally:
            ledger.close()
    seconds = time.perf_counter() - started
    SeveraNetvisorSettings()
    peak = _peak_rss_mb()
    rss_after = psutil.Process().memory_info().rss / 2**20
    print(json.dumps({"records": records, "mode": mode, "baseline_rss_mb": baseline, "peak_rss_mb": peak,
                      "rss_before_mb": rss_before, "rss_after_mb": rss_after,
                      "seconds": seconds, "summary": result.summary()}))


def _goals(name: str, goals: dict) -> None:
    for goal, met in goals.items():
        print(f"  {name} goal {goal}: {'MET' if met else 'MISSED'}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--p4-worker":
        from bench.env import setup_airflow_env

        setup_airflow_env()
        import logging

        logging.basicConfig(level=logging.WARNING)
        _p4_worker(sys.argv[2], int(sys.argv[3]))
