"""Markdown for strings that come from users (data set names, pipeline specs, failure reasons):
written into report.md / summary.md, they must show as text, never as markup or raw HTML."""
from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~])")


def md_text(value) -> str:
    """``value`` as literal Markdown text on one line (table-safe: ``|`` escaped too)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def md_code(value) -> str:
    """``value`` as an inline code span, whatever backticks it holds (table-safe)."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if fence != "`" else f"`{text}`"
