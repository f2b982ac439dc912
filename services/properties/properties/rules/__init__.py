"""Pure rules of the properties service, no I/O and no framework: one module per sub-domain, named
like the use-case module beside the package that applies it (`rules/leases.py` for `leases.py`)."""
