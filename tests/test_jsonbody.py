"""The streaming JSON body reader agrees with json.loads, however the body is cut into chunks."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bolservice.web.jsonbody import BadJson, Base64File, TextFile, first_given, read_json_object


async def chunked(data: bytes, cuts: list[int]):
    start = 0
    for cut in sorted(set(cuts)):
        yield data[start:cut]
        start = cut
    yield data[start:]


def read(tmp_path, body: bytes, cuts: list[int] = ()):
    """(other members, {name: (bytes written, error)}) for a PDF-style and a CSV-style member."""
    for leftover in tmp_path.glob("member-*"):
        leftover.unlink()
    sinks = {"file_data": Base64File(tmp_path / "member-file", "file_data"),
             "csv_data": TextFile(tmp_path / "member-csv", "csv_data")}
    members = asyncio.run(read_json_object(chunked(body, list(cuts)), sinks))
    files = {name: (sink.path.read_bytes() if sink.path.exists() else b"", sink.error)
             for name, sink in sinks.items() if sink.present}
    return members, files, sinks


def cuts_for(size: int):
    return st.lists(st.integers(0, max(size, 0)), max_size=12)


texts = st.text(st.characters(codec="utf-8"), max_size=60)
metadata = st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("file_data", "csv_data")),
                           st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                                        | texts, lambda inner: st.lists(inner, max_size=3)
                                        | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8),
                           max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), metadata, st.binary(max_size=300), texts, st.booleans(), st.booleans(), st.booleans())
def test_members_and_files_match_json_loads(tmp_path, data, others, payload, text, ascii_only, wrap, data_url):
    encoded = base64.b64encode(payload).decode()
    if wrap:
        encoded = "\n".join(encoded[i:i + 19] for i in range(0, len(encoded), 19))
    if data_url:
        encoded = "data:application/pdf;base64," + encoded
    document = {**others, "file_data": encoded, "csv_data": text}
    body = json.dumps(document, ensure_ascii=ascii_only).replace("/", "\\/" if ascii_only else "/").encode()
    members, files, _ = read(tmp_path, body, data.draw(cuts_for(len(body))))
    assert members == others
    assert files["file_data"] == (payload, None)
    assert files["csv_data"] == (text.encode(), None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \\/u"abcdef\n', max_size=40))
def test_it_refuses_what_json_loads_refuses(tmp_path, data, text):
    body = text.encode()
    try:
        expected = json.loads(body)
    except ValueError:
        expected = BadJson
    cuts = data.draw(cuts_for(len(body)))
    try:
        members, _, _ = read(tmp_path, body, cuts)
    except BadJson:
        assert expected is BadJson or not isinstance(expected, dict)
    else:
        assert isinstance(expected, dict) and members == expected


@pytest.mark.parametrize(("body", "message"), [
    (b"[1, 2]", "an object, not an array"),
    (b'"text"', "not a string"),
    (b'{"file_data": "QUJD"} trailing', "more after the object"),
    (b'{"file_data": "QUJD', "ends inside a string"),
    (b'{"file_data": "QU\\qJD"}', "not valid JSON"),
    (b'{"file_data": 1', "ends too soon"),
    (b'\xff{"a": 1}', "not UTF-8"),
])
def test_broken_bodies_say_what_is_wrong(tmp_path, body, message):
    with pytest.raises(BadJson, match=message):
        read(tmp_path, body)


@pytest.mark.parametrize(("encoded", "error"), [
    ("QUJD RA==", None), ("data:application/pdf;base64,QUJDRA==", None), ("  QUJDRA==\n", None),
    ("QUJDRA", "not valid base64"), ("QQ==QUJD", "after its padding"), ("QUJ@RA==", "not valid base64"),
    ("ÀÀÀÀ", "not valid base64"), ("data:text/plain,QUJD", "not valid base64"),
])
def test_base64_rules_are_those_of_a_whole_decode(tmp_path, encoded, error):
    body = json.dumps({"file_data": encoded}).encode()
    for cut in range(len(body) + 1):
        _, files, _ = read(tmp_path, body, [cut])
        written, found = files["file_data"]
        if error is None:
            assert (written, found) == (b"ABCD", None)
        else:
            assert error in found


def test_a_surrogate_pair_split_between_chunks_is_one_character(tmp_path):
    body = json.dumps({"csv_data": "a😀b"}).encode()  # ASCII: "a\ud83d\ude00b"
    for cut in range(len(body) + 1):
        _, files, _ = read(tmp_path, body, [cut])
        assert files["csv_data"] == ("a😀b".encode(), None)
    _, files, _ = read(tmp_path, b'{"csv_data": "a\\ud83d"}')
    assert "lone UTF-16 surrogate" in files["csv_data"][1]


def test_the_first_non_empty_member_is_the_one_given(tmp_path):
    _, _, sinks = read(tmp_path, b'{"file_data": "", "csv_data": "x"}')
    assert first_given(sinks) is sinks["csv_data"]
    _, _, sinks = read(tmp_path, b'{"file_data": 12, "csv_data": ""}')
    assert first_given(sinks) is None
    with pytest.raises(BadJson, match="twice"):
        read(tmp_path, b'{"csv_data": "a", "csv_data": "b"}')
