"""Flow settings: defaults in code, overrides in an Airflow Variable (JSON), validated at run start. Each flow
family's model lives in its package (``flows/<family>/settings.py``); loading and parsing live here."""

from __future__ import annotations

import json
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingsError(ValueError):
    """A settings Variable that does not validate; the message names every bad key."""


def load(model: type[Model], variable: str) -> Model:
    """The model's defaults overridden by the JSON in Airflow Variable ``variable`` (when it exists)."""
    from airflow.sdk import Variable

    raw = Variable.get(variable, default=None)
    try:
        overrides = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise SettingsError(f"Variable {variable} is not valid JSON: {exc}") from None
    return parse(model, overrides, variable)


def parse(model: type[Model], overrides: dict, source: str) -> Model:
    try:
        return model.model_validate(overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{source} has bad settings: {problems}") from None


OverlapMinutes = Annotated[int, Field(ge=0, le=1440)]  # a watermark re-reads this much before itself
