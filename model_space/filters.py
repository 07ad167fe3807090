"""Filter configurations such as ``32-64-128``: one convolution block per number."""

from __future__ import annotations

import re

from model_space.errors import SpaceError

_FILTERS = re.compile(r"^[1-9][0-9]*(-[1-9][0-9]*)*$")


def parse_filters(text: str) -> tuple[int, ...]:
    """Parses ``"32-64-128"`` into ``(32, 64, 128)``.

    Raises:
        ValueError: ``text`` is not positive integers joined by ``-``, or has more than four
            blocks (28x28 images halve to 1x1 after four poolings).
    """
    if not isinstance(text, str) or not _FILTERS.match(text):
        raise SpaceError(
            "filters must be positive integers joined by '-', such as '32-64-128', "
            f"but got {text!r}."
        )
    filters = tuple(int(part) for part in text.split("-"))
    if len(filters) > 4:
        raise SpaceError(f"filters allows at most 4 blocks for 28x28 images, but got {text!r}.")
    return filters
