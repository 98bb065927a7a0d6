"""Running a service at a frozen moment (the demo's timelines lie in the past)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


@contextmanager
def _frozen(moment: dt.datetime) -> Iterator[None]:
    # A dev dependency (requirements-dev.txt, which ``make run`` installs): imported here only.
    import time_machine

    with time_machine.travel(moment, tick=False):
        yield


def _at(moment: dt.datetime, action: Callable[..., T], **kwargs: Any) -> T:
    with _frozen(moment):
        return action(**kwargs)
