"""asynclint: find asyncio bugs before production does.

Kept free of imports: ``python -X asyncsan`` imports this package at interpreter start-up.
PYTEST_DONT_REWRITE
"""

__version__ = "0.1.0"
