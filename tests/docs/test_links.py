"""A newcomer can find their way: the README links every page of docs/, and no link leads nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PAGES = [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#+\s+(.+?)\s*$", re.MULTILINE)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _prose(page: Path) -> str:
    """The page without its code blocks: a `#` there is a comment, a `](` part of an example."""
    return _FENCED.sub("", page.read_text())


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_anchor(heading) for heading in _HEADING.findall(_prose(page))}


def _local_links(page: Path) -> list[str]:
    return [t for t in _LINK.findall(_prose(page)) if not t.startswith(("http://", "https://"))]


def test_the_readme_links_every_page_of_the_docs() -> None:
    # Given the pages in docs/
    pages = {page.name for page in DOCS.glob("*.md")}
    # When the README's links are read
    linked = {Path(t.partition("#")[0]).name for t in _local_links(REPO_ROOT / "README.md")}
    # Then each page is one of them
    assert pages, "docs/ holds no pages"
    assert pages - linked == set()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    # Given a page's links to other files of the repository, and to its own headings
    links = _local_links(page)
    # When each is followed
    broken = []
    for target in links:
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target}: no heading with that anchor")
    # Then each leads somewhere
    assert broken == []
