#!/usr/bin/python3
# Copyright (C) 2026 The QStateSync Authors.
# SPDX-License-Identifier: GPL-3.0-only
"""Turns a Markdown page of doc/ into a qdoc page, so the Markdown stays the one source.

usage: md2qdoc.py INPUT.md OUTPUT.qdoc

The page is named qstatesync-<name>.html and titled after the Markdown's first heading.
Links to other pages of doc/ (other.md#anchor) point to their qdoc pages; images
(images/x.png) become \\image commands, so qdoc copies them. Needs Debian's
python3-markdown.
"""

import pathlib
import re
import sys

import markdown


def page_name(markdown_name: str) -> str:
    return "qstatesync-" + pathlib.Path(markdown_name).stem + ".html"


def convert(source: pathlib.Path, target: pathlib.Path) -> None:
    text = source.read_text(encoding="utf-8")
    heading = re.search(r"^# (.+)$", text, re.MULTILINE)
    if not heading:
        sys.exit(f"{source}: no '# title' heading")
    title = heading.group(1).strip()
    text = text[: heading.start()] + text[heading.end():]

    html = markdown.markdown(text, extensions=["tables", "fenced_code", "toc", "sane_lists"])
    if "*/" in html:
        sys.exit(f"{source}: '*/' would end the qdoc comment")

    # Links between the Markdown pages become links between the generated pages.
    html = re.sub(r'href="([\w.-]+)\.md(#[^"]*)?"',
                  lambda m: f'href="{page_name(m.group(1))}{m.group(2) or ""}"', html)

    # Images leave the raw HTML so that qdoc knows and copies them.
    def image(match: re.Match) -> str:
        name = pathlib.Path(match.group(2)).name
        return f"\n\\endraw\n\\image {name} {match.group(1)}\n\\raw HTML\n"

    html = re.sub(r'<p>\s*<img alt="([^"]*)" src="images/([^"]+)"\s*/?>\s*</p>', image, html)
    html = re.sub(r'<img alt="([^"]*)" src="images/([^"]+)"\s*/?>', image, html)

    target.write_text(
        "/*!\n"
        f"\\page {page_name(source.name)}\n"
        f"\\title {title}\n\n"
        "\\raw HTML\n"
        f"{html}\n"
        "\\endraw\n"
        "*/\n",
        encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    convert(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
