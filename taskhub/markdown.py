"""Markdown written by admins, rendered to HTML that is safe to show (nh3 allow-list)."""

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}


def render_markdown(text: str) -> SafeString:
    html = md.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    clean = nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}}, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 above
