"""Flow settings: defaults in code, overrides in an Airflow Variable (JSON), validated at run start."""

from __future__ import annotations

import json
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

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


Direction = Literal["severa_to_netvisor", "netvisor_to_severa", "off"]


class RegisterSettings(Strict):
    direction: Direction = "severa_to_netvisor"
    use_temp: bool = False  # R-A.3 / R-A.4: transfer nothing, documents use the TEMP record


class DimensionSettings(Strict):
    business_unit_heading: str = "Liiketoimintayksikkö"  # empty: business units are not created
    project_heading: str = "Projekti"  # empty: projects are not created


class SeveraNetvisorSettings(Strict):
    """Flow A settings (Variable ``erpbridge_severa_netvisor``)."""

    customers: RegisterSettings = RegisterSettings()
    products: RegisterSettings = RegisterSettings()
    dimensions: DimensionSettings = DimensionSettings()
    product_group: str = "Severa"  # Netvisor product group for products coming from Severa
    currency: str = "EUR"  # home currency; must be the same in both systems (R-A.10)
    watermark_overlap_minutes: int = 10
