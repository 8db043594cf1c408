"""Companies: erpbridge serves many on one installation. The names the DAGs, the ledger and the control room share."""

DEFAULT_COMPANY = "default"  # the company of an installation without a companies file


def dag_id(flow: str, company: str = DEFAULT_COMPANY) -> str:
    """The DAG that runs ``flow`` for ``company``: the flow's own id for the default company, else ``<flow>__<company>``."""
    return flow if company == DEFAULT_COMPANY else f"{flow}__{company}"
