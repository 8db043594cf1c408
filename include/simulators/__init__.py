"""Local simulators of the external systems, written from the vendors' public contracts.

``REGISTRY`` maps a simulator name to (module, default port); the runner
(``python -m include.simulators``) starts those whose module exists.
"""

REGISTRY: dict[str, tuple[str, int]] = {
    "netvisor": ("include.simulators.netvisor", 18081),
    "severa": ("include.simulators.severa", 18082),
    "standard_books": ("include.simulators.standard_books", 18083),
    "envoice": ("include.simulators.envoice", 18084),
    "horizon": ("include.simulators.horizon", 18085),
    "woocommerce": ("include.simulators.woocommerce", 18086),
    "fakturownia": ("include.simulators.fakturownia", 18087),
    "saldeo": ("include.simulators.saldeo", 18088),
    "eservice": ("include.simulators.eservice", 18090),
    "weighing": ("include.simulators.weighing", 18089),
}
