"""Text as a target can hold it: HTML to plain text, and cutting to a documented length.

Canonical names and descriptions keep what the source gave (a WooCommerce description is HTML:
WordPress wraps it in ``<p>`` through ``wpautop``, and names carry entities such as ``&amp;``). A
target whose field is plain text (a Fortnox article's ``Description``) takes :func:`plain_text`;
one that shows HTML (a webshop) takes the HTML as it is. Cutting is the target's business, and it
says so (:func:`fit` returns the warning for the sync log).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"})
_HIDDEN = frozenset({"script", "style", "template"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def plain_text(text: str | None, *, single_line: bool = False) -> str:
    """``text`` without tags, with entities decoded (``&amp;`` -> ``&``, ``&#8211;`` -> ``–``) and
    whitespace tidied; block tags become line breaks, or spaces when ``single_line``."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        cleaned = text
    else:
        parser = _Text()
        parser.feed(text)
        parser.close()
        cleaned = html.unescape("".join(parser.parts))  # entities a lax source double-escaped
    cleaned = _SPACES.sub(" ", cleaned)
    cleaned = _LINES.sub(" " if single_line else "\n", cleaned.strip())
    return cleaned.strip()


def fit(text: str, limit: int, what: str) -> tuple[str, str | None]:
    """``text`` cut to ``limit`` characters (at a word boundary when one is near), and the warning
    that says so, or None when it fits."""
    if len(text) <= limit:
        return text, None
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    cut = cut.rstrip()
    return cut, f"{what} cut to the target's {limit} characters (was {len(text)})"


def shown(value: object, limit: int = 60) -> str:
    """A value quoted for a message a person reads, cut when long (a hostile SKU can be megabytes)."""
    text = str(value)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text)} characters)"
