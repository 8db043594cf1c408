"""Flow A wiring: which Register streams a register name means under the current settings."""

from __future__ import annotations

from functools import partial

from erpbridge.engine.registry import Register
from erpbridge.errors import ExternalSystemError
from erpbridge.flows.severa_netvisor import endpoints as ep
from erpbridge.flows.severa_netvisor import mapping as m
from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
from erpbridge.hooks.netvisor import NetvisorHook
from erpbridge.hooks.severa import SeveraHook


def _by(field: str):
    return lambda payload: payload[field]


def build_registers(register: str, config: SeveraNetvisorSettings, netvisor: NetvisorHook,
                    severa: SeveraHook) -> list[Register]:
    if register == "customers":
        return _customer_streams(config, netvisor, severa)
    if register == "products":
        return _product_streams(config, netvisor, severa)
    if register == "dimensions":
        return _dimension_streams(config, netvisor, severa)
    raise ValueError(f"unknown register {register!r}; known: customers, products, dimensions")


def _customer_streams(config, netvisor, severa) -> list[Register]:
    settings = config.customers
    if settings.use_temp or settings.direction == "off":
        return []
    if settings.direction == "severa_to_netvisor":
        return [Register("customer", ep.SeveraSource(severa, "customers"), ep.NetvisorCustomers(netvisor),
                         m.severa_customer_to_netvisor, _by("code"))]
    return [Register("customer", ep.NetvisorCustomers(netvisor),
                     ep.SeveraTarget(severa, "customers", "number", "numbers"),
                     m.netvisor_customer_to_severa, lambda payload: str(payload["number"]))]


def _product_streams(config, netvisor, severa) -> list[Register]:
    settings = config.products
    if settings.use_temp or settings.direction == "off":
        return []
    if settings.direction == "severa_to_netvisor":
        return [Register("product", ep.SeveraSource(severa, "products"), ep.NetvisorProducts(netvisor),
                         partial(m.severa_product_to_netvisor, product_group=config.product_group), _by("code"))]
    return [Register("product", ep.NetvisorProducts(netvisor), ep.SeveraTarget(severa, "products", "code", "code"),
                     partial(m.netvisor_product_to_severa, currency=config.currency), _by("code"))]


def _dimension_streams(config, netvisor, severa) -> list[Register]:
    """R-A.5: business units and projects as dimension items; an empty heading creates nothing."""
    headings = config.dimensions
    streams = []
    if headings.business_unit_heading:
        streams.append(Register("business_unit", ep.SeveraSource(severa, "businessunits"),
                                ep.NetvisorDimensionItems(netvisor, headings.business_unit_heading),
                                m.business_unit_item, _by("item")))
    if headings.project_heading:
        streams.append(Register("project", ep.SeveraSource(severa, "projects"),
                                ep.NetvisorDimensionItems(netvisor, headings.project_heading),
                                m.project_item, _by("item")))
    return streams


def check_temp_records(register: str, config: SeveraNetvisorSettings, hook: NetvisorHook) -> None:
    """In TEMP mode the TEMP customer / product must exist in Netvisor (R-A.3, R-A.4)."""
    use_temp = {"customers": config.customers.use_temp, "products": config.products.use_temp}.get(register)
    if not use_temp:
        return
    found = hook.find_customers([m.TEMP_CODE]) if register == "customers" else hook.find_product(m.TEMP_CODE)
    if not found:
        kind = register[:-1]
        raise ExternalSystemError(
            "Netvisor", f"{register} are set to use the temporary {kind} (use_temp), but no {kind} with code "
                        f"{m.TEMP_CODE} exists in Netvisor: create it there, or turn use_temp off", "CONFIGURATION")
