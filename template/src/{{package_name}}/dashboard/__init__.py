"""The built-in dashboard: cost per outcome, traffic, latency and drift, from the ledger.

The figures (queries.py, schemas.py) and the page (page.py, page.html); its HTTP routes live
with the rest of the API, in api/dashboard.py.
"""

from .page import render_page
from .queries import dashboard_data
from .schemas import DashboardData, Window

__all__ = ["DashboardData", "Window", "dashboard_data", "render_page"]
