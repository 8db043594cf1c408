"""Performance benchmarks for erpbridge (issue 7): `make bench` / `python -m bench --help`."""
