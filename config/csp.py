"""The Content-Security-Policy for responses that are files, not our pages.

A photo, a recording or a PDF opened in the browser is shown in a document the browser makes
itself (its image viewer styles the image inline; its PDF viewer is a plugin), which the site's
policy (``style-src 'self'; object-src 'none'``) would break. Files get a policy of their own:
nothing may run, only the file itself is shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from csp.decorators import csp_replace

View = TypeVar("View", bound=Callable[..., Any])

FILE_POLICY = {
    "default-src": ["'none'"],
    "img-src": ["'self'"],
    "media-src": ["'self'"],
    "object-src": ["'self'"],
    "style-src": ["'unsafe-inline'"],
    "script-src": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def file_csp(view: View) -> View:
    """The file policy for a view that answers with a file (any signature)."""
    return cast(View, csp_replace(FILE_POLICY)(view))
