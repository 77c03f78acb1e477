"""HTML to clean text with lxml's HTML parser, dropping scripts and page boilerplate.

Scripts, styles, navigation, headers, footers, forms and elements whose class or id names
them as menus, cookie banners, share bars or ads are removed; block elements become line
breaks and table rows become ``cell | cell`` lines, so numbers in financial tables survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import lxml.html  # type: ignore[import-untyped]
from lxml import etree

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "form", "button",
              "nav", "header", "footer", "aside", "select", "object", "embed")
_BOILERPLATE_HINT = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|breadcrumb|footer|header|cookie|banner|share|social|"
    r"subscribe|newsletter|related|advert|ads?|sponsor|sidebar|promo|popup|comments?)"
    r"($|[\s_-])",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "section", "article", "blockquote", "pre", "table", "tr", "dd", "dt",
                         "hr", "title", "main", "center", "font"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class CleanText:
    """Text extracted from HTML and how much of the page was boilerplate."""

    title: str | None
    text: str
    boilerplate_ratio: float


def _visible_length(element: Any) -> int:
    return len("".join(element.itertext()).strip())


def clean_html(markup: str | bytes) -> CleanText:
    """Clean text of an HTML page or fragment (empty text for empty markup)."""
    if isinstance(markup, bytes):
        markup = markup.decode("utf-8", "replace")
    if not markup.strip():
        return CleanText(None, "", 0.0)
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return CleanText(None, "", 0.0)
    title_element = root.find(".//title")
    title = title_element.text_content().strip() if title_element is not None else None
    if title_element is not None:
        title_element.drop_tree()
    for element in root.iter("script", "style", "noscript", "template"):
        element.text = None  # their text is never content, not even for the ratio below
    total = _visible_length(root) or 1
    removed = 0
    for element in list(root.iter(*_DROP_TAGS)):
        if element.getparent() is None:
            continue
        removed += _visible_length(element)
        element.drop_tree()
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        hints = f"{element.get('class', '')} {element.get('id', '')} {element.get('role', '')}"
        if hints.strip() and _BOILERPLATE_HINT.search(hints):
            removed += _visible_length(element)
            element.drop_tree()
    text = _render(root)
    return CleanText(title or None, text, min(1.0, removed / total))


def _render(root: Any) -> str:
    return _normalise(_text_with_tails(root))


def _text_with_tails(root: Any) -> str:
    parts: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in ("td", "th") and element.getprevious() is not None:
                parts.append(" | ")
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
            if element.text and isinstance(element.tag, str):
                parts.append(element.text)
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if element.tail:
                parts.append(element.tail)
    return "".join(parts)


def _normalise(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def looks_like_html(text: str) -> bool:
    """Whether a text field carries markup worth parsing."""
    return "<" in text and ">" in text and re.search(r"</?[a-zA-Z][^>]*>", text) is not None
