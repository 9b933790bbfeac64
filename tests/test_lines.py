"""The line rules (bol/lines.py) give pdfplumber's ``page.extract_text()`` for any characters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pdfplumber.utils.text import chars_to_textmap

import numpy as np

from bolservice.bol.lines import Char, PageChars, pages_lines, text_lines

# Values on a 3 pt grid make the tolerances' ties (exactly 3 pt apart) common.
coordinate = st.one_of(st.integers(0, 30).map(lambda k: 3.0 * k), st.floats(0, 90, allow_nan=False))
char = st.builds(
    lambda text, x0, width, top, height, upright: Char(text, x0, x0 + width, top, top + height, upright),
    st.sampled_from("ab1 \u00a0\t\ufb01\u3000"), coordinate, st.sampled_from([0.0, 3.0, 2.5, 6.1]),
    coordinate, st.sampled_from([5.0, 9.0]), st.booleans() | st.just(True))


def pdfplumbers_lines(chars: list[Char]) -> list[str]:
    """What ``page.extract_text()`` makes of the characters: its text map at the defaults."""
    dicts = [dict(text=c.text, x0=c.x0, x1=c.x1, top=c.top, bottom=c.bottom, doctop=c.top, upright=c.upright)
             for c in chars]
    return chars_to_textmap(dicts).as_string.splitlines() if dicts else []


@settings(max_examples=600, deadline=None)
@given(st.lists(char, max_size=40))
def test_lines_are_pdfplumbers_for_any_characters(chars):
    assert text_lines(PageChars.of(chars)) == pdfplumbers_lines(chars)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(char, max_size=25), min_size=1, max_size=5))
def test_pages_read_together_read_as_each_alone(pages):
    # The reader works out a batch of pages in one go; no line may reach across a page.
    together = PageChars.of([c for page in pages for c in page])
    starts = np.cumsum([0] + [len(page) for page in pages])
    assert pages_lines(together, starts) == [pdfplumbers_lines(page) for page in pages]


def test_words_keep_their_order_when_their_tops_are_two_lines():
    # Tops 0, 2.5 and 5 chain into one line of characters, but the words' tops (5 for "X",
    # 0 for "mY") are two lines; page.extract_text() keeps the words' order, it does not
    # sort the lines (pdfplumber.utils.extract_text would put "mY" first).
    chars = [Char("X", 10, 15, 5, 14), Char("m", 40, 45, 2.5, 11.5), Char("Y", 46, 51, 0, 9)]
    assert text_lines(PageChars.of(chars)) == pdfplumbers_lines(chars) == ["X", "mY"]


def test_words_of_both_orientations_share_a_line():
    chars = [Char("A", 10, 15, 20, 29), Char("B", 18, 27, 100, 105, False), Char("C", 40, 45, 20, 29)]
    assert text_lines(PageChars.of(chars)) == pdfplumbers_lines(chars)


def test_ligatures_are_written_out_and_spaces_split_words():
    chars = [Char("\ufb01", 0, 5, 0, 9), Char("x", 5, 9, 0, 9), Char("\u00a0", 9, 12, 0, 9), Char("y", 12, 16, 0, 9)]
    assert text_lines(PageChars.of(chars)) == ["fix y"]
