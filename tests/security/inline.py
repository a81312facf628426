"""What the strict Content-Security-Policy would block in a page: inline scripts, event-handler
attributes, style attributes and <style> elements, javascript: URLs. (Used by test_headers.py on the
main pages and by test_authorization.py on every HTML answer of the matrix.)"""

from __future__ import annotations

from html.parser import HTMLParser

# <script type=...> blocks that are data, never run (so the CSP does not apply to them).
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/template"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._inline_script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        where = f"<{tag}{' id=' + str(names['id']) if names.get('id') else ''}>"
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"event handler {name}= on {where}")
            elif name == "style":
                self.found.append(f"style attribute on {where}: {value!r}")
            elif name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in {name}= on {where}")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and not names.get("src"):
            kind = (names.get("type") or "").strip().lower()
            if kind not in DATA_SCRIPT_TYPES:
                self._inline_script = where

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._inline_script is not None and data.strip():
            self.found.append(f"inline script {self._inline_script}: {data.strip()[:60]!r}")
            self._inline_script = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline_script = None


def inline_violations(html: str) -> list[str]:
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.found
