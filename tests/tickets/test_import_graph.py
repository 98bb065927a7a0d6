"""The tickets app knows no channel package: integrations imports tickets, not the reverse.

A channel's badge, names and choice values reach tickets through ``tickets.channels``, which
the channels' specs fill. The modules below still import integrations from before the channel
registry (the website channel's JSON endpoint, the ticket page's notices read from the outbox,
the demo); no other module of tickets may, so the list can only shrink."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {
    "tickets/api/parsers.py",
    "tickets/api/views.py",
    "tickets/demo/loader.py",
    "tickets/management/commands/load_demo.py",
    "tickets/selectors_case.py",
}


def _imports_integrations(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        if any(name == "integrations" or name.startswith("integrations.") for name in names):
            return True
    return False


def test_it_finds_no_new_import_of_integrations_in_tickets() -> None:
    found = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tickets").rglob("*.py")
        if "migrations" not in path.parts and _imports_integrations(path)
    }
    assert found - KNOWN == set()
