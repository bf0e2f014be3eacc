"""The demo's terminal layout hides nothing: a folded body unfolds into exactly the lines it got."""

from __future__ import annotations

import pytest

from demo import show

INDENT = "      "
LINES = [
    'FAILED: organization conformance pack "security-baseline" in us-east-1',
    "",
    "            ConformancePackCreationFailed: The stack awsconfigconforms-x is in CREATE_FAILED "
    "state: s3:PutBucketPolicy   is denied by a service control policy (HandlerErrorCode: "
    "AccessDenied)",
    "x" * 250,  # no space to break at
    " " * 40 + "b " * 80,  # indented deeper than continuation rows go
    "trailing spaces   ",
]


@pytest.mark.parametrize("width", [40, 80, 120])
def test_a_folded_body_unfolds_into_exactly_its_lines(width: int) -> None:
    # Given body lines, long and short, indented, empty, with runs of spaces
    # When they are laid out for a terminal of this width
    shown = show.body(LINES, INDENT, width)
    # Then no row is wider than the terminal, and reading the rows back gives the lines exactly
    assert max(len(row.rstrip()) for row in shown) <= width
    assert show.unfold(shown, INDENT) == LINES


def test_a_cut_json_line_says_how_much_is_left_out() -> None:
    # Given a line far longer than a few rows
    line = "y " * 500
    # When it is shown in at most four rows
    shown = show.body([line], INDENT, 80, max_rows=4)
    # Then it takes four rows, the last saying how many characters were left out
    assert len(shown) == 4
    shown_chars = sum(len(row) - len(INDENT) - 2 for row in shown[:3])
    assert shown[3].endswith(f"… {len(line) - shown_chars:,} more characters")


def test_an_email_shows_its_first_lines_and_counts_the_rest() -> None:
    # Given an email body of 30 lines
    text = "\n".join(f"line {i}" for i in range(30))
    # When it is shown
    shown = show.email("[FAILED] subject", text, "    ", 100, limit=25)
    # Then the subject, the first 25 lines and a count of the other 5 are shown
    assert shown[0] == "    EMAIL  Subject: [FAILED] subject"
    assert show.unfold(shown[1:-1], "      ") == [f"line {i}" for i in range(25)]
    assert shown[-1] == "      … 5 more lines of 30"
