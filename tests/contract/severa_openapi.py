"""Severa's published OpenAPI v1.0 as the judge of our Severa traffic (simulator answers, hook requests).

The document is vendored beside this module (``severa/openapi-v1.json``, from Visma's public API
directory, https://api.severa.visma.com/psapublicrest/openapidocs/v1.0/doc.json, as kept in
shared/reference/vendor/severa). Schemas are checked by ``openapi-schema-validator``; this module only
finds the operation of an exchange and reads the document the way the vendor's generator meant it:

- a property ``{"$ref": X, "nullable": true}`` may be null (OpenAPI 3.0 ignores siblings of $ref);
- every object with properties is closed: a property the contract lacks is an error (strict reading);
- ``PatchOperation.value`` is typed string by the generator, but JSON Patch (and the server's .NET
  model, ``object``) takes any JSON value: the one relaxation, listed in the README's assumptions.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

SPEC_PATH = Path(__file__).parent / "severa" / "openapi-v1.json"
README = Path(__file__).parents[2] / "README.md"
BASE_PATH = "/rest-api"


def readme_scopes() -> dict[str, list[str]]:
    """The Severa scopes the README lists per DAG (its table between the severa-scopes markers)."""
    section = README.read_text().split("<!-- severa-scopes -->")[1].split("<!-- /severa-scopes -->")[0]
    found = {}
    for line in section.splitlines()[3:]:
        dag, scopes = (cell.strip() for cell in line.strip("|").split("|"))
        found[re.findall(r"`([^`]+)`", dag)[0]] = [s for s in re.findall(r"`([^`]+)`", scopes) if ":" in s]
    return found


def scope_connection(monkeypatch, dag_id: str) -> list[str]:
    """Point severa_default's ``scope`` at exactly the scopes the README lists for ``dag_id``."""
    scopes = readme_scopes()[dag_id]
    conn = json.loads(os.environ["AIRFLOW_CONN_SEVERA_DEFAULT"])
    conn["extra"] = {**conn.get("extra", {}), "scope": ",".join(scopes)}
    monkeypatch.setenv("AIRFLOW_CONN_SEVERA_DEFAULT", json.dumps(conn))
    return scopes


def _strict(node):
    """The document with nullable references honoured and every object closed (see the module doc)."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _strict(value) for key, value in node.items()}
    if "$ref" in node and node.get("nullable"):
        rest = {k: v for k, v in node.items() if k not in ("$ref", "nullable")}
        node = {**rest, "anyOf": [{"$ref": node["$ref"]}, {"enum": [None]}]}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    return node


@lru_cache(maxsize=1)
def spec() -> dict:
    document = _strict(json.loads(SPEC_PATH.read_text()))
    document["components"]["schemas"]["PatchOperation"]["properties"]["value"] = {"nullable": True}
    return document


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    op: dict

    @property
    def scopes(self) -> list[str]:
        """The OAuth2 scopes the contract requires (empty: none)."""
        return [scope for rule in self.op.get("security") or [] for scope in rule.get("OAuth2", [])]

    def parameters(self, where: str) -> dict[str, dict]:
        return {p["name"]: p for p in self.op.get("parameters", []) if p["in"] == where}


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern, int, str]]:
    """(pattern, literal segments, template) for every path, the most literal first."""
    routes = []
    for template in spec()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
        routes.append((re.compile(f"^{pattern}$"), literal, template))
    return sorted(routes, key=lambda route: -route[1])


def operation(method: str, path: str) -> Operation | None:
    """The contract's operation for ``method`` on ``path`` (with or without /rest-api), or None."""
    path = path[len(BASE_PATH):] if path.startswith(BASE_PATH) else path
    for pattern, _, template in _routes():
        if pattern.match(path) and method.lower() in spec()["paths"][template]:
            return Operation(method.upper(), template, spec()["paths"][template][method.lower()])
    return None


def _validator(schema: dict, *, write: bool):
    cls = OAS30WriteValidator if write else OAS30ReadValidator
    return cls({**schema, "components": spec()["components"]})


def _errors(schema: dict, value, *, write: bool) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in _validator(schema, write=write).iter_errors(value)]


def _query_value(raw: str, schema: dict):
    """A query string value as the type its parameter schema declares."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def request_problems(exchange: dict, granted: set[str] | None = None) -> list[str]:
    """What in a recorded request the contract does not allow: unknown operation or parameter, a value of
    the wrong type, a body off its schema, a scope the token was not granted."""
    op = operation(exchange["method"], exchange["path"])
    if op is None:
        return [f"{exchange['method']} {exchange['path']}: no such operation in the contract"]
    problems = []
    declared = op.parameters("query")
    values: dict[str, list[str]] = {}
    for name, raw in parse_qsl(exchange.get("query") or "", keep_blank_values=True):
        values.setdefault(name, []).append(raw)
    for name, raws in values.items():
        if name not in declared:
            problems.append(f"query parameter {name!r} is not in the contract")
            continue
        schema = declared[name].get("schema") or {}
        if schema.get("type") == "array":
            value = [_query_value(raw, schema.get("items") or {}) for raw in raws]
        elif len(raws) > 1:
            problems.append(f"query parameter {name!r} is not a list but was given {len(raws)} times")
            continue
        else:
            value = _query_value(raws[0], schema)
        problems += [f"query {name}: {e}" for e in _errors(schema, value, write=True)]
    body_schema = (((op.op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
    body = exchange.get("request_body")
    if body is not None:
        if body_schema is None:
            problems.append("a JSON body was sent but the operation takes none")
        else:
            problems += [f"body {e}" for e in _errors(body_schema, body, write=True)]
    if granted is not None:
        problems += [f"needs scope {s!r}, which the token was not granted" for s in op.scopes if s not in granted]
    return [f"{op.method} {op.template}: {p}" for p in problems]


def response_problems(exchange: dict) -> list[str]:
    """What in a recorded answer the contract does not allow: an undocumented status or content type, or a
    JSON body off the response schema (a property the contract lacks included)."""
    op = operation(exchange["method"], exchange["path"])
    if op is None:
        return []  # reported on the request side
    responses = op.op["responses"]
    status = str(exchange["status"])
    response = responses.get(status) or (responses.get("default") if not status.startswith("2") else None)
    where = f"{op.method} {op.template} -> {status}"
    if response is None:
        return [f"{where}: status not in the contract"]
    content = response.get("content") or {}
    media = (exchange.get("content_type") or "").split(";")[0].strip()
    if not content:
        return [] if not exchange.get("response_size") else [f"{where}: the contract gives this answer no body"]
    if media not in content:
        return [f"{where}: content type {media or '(none)'} is not one of {sorted(content)}"]
    schema = content[media].get("schema") or {}
    if media != "application/json":
        return []
    return [f"{where}: {e}" for e in _errors(schema, exchange.get("response_body"), write=False)]


def problems(exchanges: list[dict]) -> list[str]:
    """Every contract violation in a recorded session of Severa traffic (in order)."""
    found, granted = [], None
    for exchange in exchanges:
        if exchange["path"].endswith("/v1/token") and exchange["status"] == 200:
            granted = set(str((exchange.get("response_body") or {}).get("scope") or "").split(","))
            found += request_problems(exchange)
        else:
            found += request_problems(exchange, granted if exchange["status"] != 401 else None)
        found += response_problems(exchange)
    return found
