"""Random invoices → a generated PDF → the parser gives back exactly what was printed."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bolpdf import AUTO, BolInvoice, Item, expected_rows, true_totals, unprinted
from tests.support import extract, row_tuples

WORD = st.text("ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=1, max_size=8)


def printed_int(low: int, high: int):
    return st.tuples(st.integers(low, high), st.booleans()).map(
        lambda t: f"{t[0]:,}" if t[1] else str(t[0]))


def printed_decimal(places):
    return st.tuples(st.integers(1, 9_999_999), places, st.booleans()).map(
        lambda t: f"{Decimal(t[0]).scaleb(-t[1]):{',' if t[2] else ''}f}")


items = st.builds(
    Item,
    cartons=printed_int(1, 99_999),
    style=st.text("ABCDEFGHJKLMNPRSTUVWXYZ0123456789-", min_size=1, max_size=10),
    pieces=printed_int(1, 999_999),
    description=st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    weight=printed_decimal(st.integers(0, 2)),
)


@st.composite
def invoices(draw):
    count = draw(st.integers(1, 3))
    numbers = draw(st.lists(st.integers(1, 9_999_999), min_size=count, max_size=count, unique=True))
    return [
        BolInvoice(
            number=f"{draw(st.sampled_from('ABKZ'))}{n}",
            items=draw(st.lists(items, min_size=1, max_size=30)),
            rows_per_page=draw(st.integers(1, 25)),
            totals=draw(st.sampled_from([AUTO, None])),
            cube=draw(st.none() | printed_decimal(st.just(2))),
        )
        for n in numbers
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_parsed_rows_equal_the_generated_rows_in_order(generated):
    extraction = extract(generated)
    assert row_tuples(extraction) == expected_rows(generated)
    for invoice, source in zip(extraction.invoices, generated, strict=True):
        _, pieces, weight = true_totals(source.items)
        assert (invoice.total_pieces, invoice.total_weight) == (unprinted(pieces), unprinted(weight))
        assert invoice.cube == (unprinted(source.cube) if source.cube else "")
    expected_codes = sorted(
        code for source in generated for code, missing in
        (("computed_totals", source.totals is None), ("no_cube", source.cube is None)) if missing)
    assert sorted(w.code for w in extraction.warnings) == expected_codes
