"""What the search box says of its answers, in Slovenian's four count forms and in English."""

from __future__ import annotations

import pytest

from dashboards.search import answers_said


@pytest.mark.parametrize(
    ("count", "slovenian", "english"),
    [
        (1, "1 zadetek", "1 result for"),
        (2, "2 zadetka", "2 results"),
        (4, "4 zadetki", "4 results"),
        (10, "10 zadetkov", "10 results"),
        (102, "102 zadetka", "102 results"),
        (111, "111 zadetkov", "111 results"),
    ],
)
def test_a_count_of_answers_takes_the_slovenian_form_of_its_number(count, slovenian, english):
    said = answers_said(count, " ptuj ")
    assert f"{slovenian} za »ptuj«" in said and english in said


def test_no_answers_say_so_and_the_query_cannot_inject_markup():
    said = answers_said(0, "<b>x</b>")
    assert "Ni zadetkov za »&lt;b&gt;x&lt;/b&gt;«" in said and "<b>" not in said
