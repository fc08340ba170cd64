"""Text from the data (cluster, firm, file and platform names, rejected values) made safe for each output.

Why one module: a name is data wherever it goes, but each output has its own way for data to turn into
code — HTML markup, a script block, robot markdown (links, mentions, emphasis), a spreadsheet formula, a
terminal escape sequence. Every writer calls the function for its format here instead of escaping by hand,
so the injection tests (tests/test_injection.py) cover one place per format.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Inside <script>, "</script", "<!--" and "<script" change how the HTML parser reads the block; U+2028/9 end
# a line in older JavaScript. As \uXXXX escapes they are the same JSON value and inert markup.
_JSON_IN_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}

# Robot markdown (DingTalk, WeCom): every character that can open a link, image, mention, tag, heading, list,
# table, code span or emphasis is replaced by its full-width form, which renders as the same glyph in
# Chinese text but is never markup. Backslash escapes are not used: the robots' markdown subsets do not
# document them.
_MARKDOWN = str.maketrans({
    "[": "［", "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "*": "＊", "_": "＿", "`": "｀",
    "#": "＃", "!": "！", "|": "｜", "~": "～", "@": "＠", "\\": "＼", "&": "＆", "{": "｛", "}": "｝",
    "+": "＋", "=": "＝", ":": "：", "$": "＄",
})
# Control characters and line separators (a new line starts a new markdown block or terminal row; ESC starts
# a terminal sequence; bidi overrides reorder what a reader sees).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What mail clients and chat apps turn into links by themselves: a scheme, "www." and e-mail addresses.
_AUTOLINK = re.compile(r"(?i)://|www\.|@")
_DEFANG = {"://": "：//", "@": "＠"}


def json_in_html(value: Any) -> str:
    """JSON for a <script> block: <, >, &, U+2028 and U+2029 as \\u escapes (the parsed value is unchanged)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_IN_HTML[m.group(0)], text)


def one_line(value: Any) -> str:
    """Text on one line with no control characters (each replaced by a space)."""
    return _CONTROL.sub(" ", "" if value is None else str(value))


def plain_text(value: Any) -> str:
    """A name in a plain-text message (e-mail): one line, and nothing a client would auto-link."""
    return _AUTOLINK.sub(lambda m: _DEFANG.get(m.group(0), m.group(0)[:3] + "．"), one_line(value))


def markdown_text(value: Any) -> str:
    """A name in robot markdown: one line, every markdown-active character in its full-width form."""
    return plain_text(one_line(value).translate(_MARKDOWN))


def spreadsheet_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def terminal_cell(value: Any) -> str:
    """A value printed by the command line: one line, no escape sequences, no formula if pasted or piped."""
    return str(spreadsheet_cell(one_line(value)))


def html_escaped(value: Any) -> Any:
    """Every string inside a JSON-like structure HTML-escaped (for renderers that insert values as markup)."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {k: html_escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [html_escaped(v) for v in value]
    return value
