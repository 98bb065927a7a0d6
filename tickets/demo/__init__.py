"""The Qingshan district demo: ``load_demo`` builds it through the real services."""

from tickets.demo.data import DEMO_USERS, DISTRICT_CODE
from tickets.demo.loader import Loader, Result, demo_load, demo_loaded, logins_table, overdue_q

__all__ = [
    "DEMO_USERS",
    "DISTRICT_CODE",
    "Loader",
    "Result",
    "demo_load",
    "demo_loaded",
    "logins_table",
    "overdue_q",
]
