"""Tests of `jakinfer.io.tables`: string tables that remember each row's file and line."""

from __future__ import annotations

import pytest

from jakinfer.errors import InputError
from jakinfer.io.tables import concat_tables, read_table, read_tsv


def test_rows_keep_their_line_numbers_across_blank_lines(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n 1 \t2\n\n\t\n3\t\n", encoding="utf-8")
    table = read_tsv(path, required=("a",))
    assert list(table.columns) == ["a", "b"]
    assert table["a"].tolist() == ["1", "3"]
    assert table["b"].tolist() == ["2", ""]  # a short row is padded with empty cells
    assert table.attrs["lines"] == [2, 5]
    assert table.attrs["files"] == [str(path), str(path)]


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_bytes("\ufeffa\tb\r\nx\ty\r\n".encode())
    table = read_tsv(path)
    assert list(table.columns) == ["a", "b"]
    assert table.iloc[0].tolist() == ["x", "y"]


def test_csv_delimiter(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n"1,5",2\n', encoding="utf-8")
    table = read_table(path, delimiter=",")
    assert table["a"].tolist() == ["1,5"]


def test_concat_keeps_file_and_line_of_each_row(tmp_path):
    first, second = tmp_path / "1.tsv", tmp_path / "2.tsv"
    first.write_text("a\n1\n2\n", encoding="utf-8")
    second.write_text("a\n\n3\n", encoding="utf-8")
    table = concat_tables([read_tsv(first), read_tsv(second)])
    assert table["a"].tolist() == ["1", "2", "3"]
    assert table.attrs["lines"] == [2, 3, 3]
    assert table.attrs["files"] == [str(first), str(first), str(second)]


def _error(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        read_tsv(path, **kwargs)
    return info.value


def test_missing_file(tmp_path):
    error = _error(tmp_path / "nope.tsv")
    assert error.file == str(tmp_path / "nope.tsv")
    assert "not found" in str(error)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("", encoding="utf-8")
    error = _error(path)
    assert str(path) in str(error) and "empty" in str(error)


def test_not_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("a\tb\n1\t2\n3\tgr\u00fcn\n".encode("latin-1"))
    error = _error(path)
    assert (error.file, error.row, error.column) == (str(path), 3, "b")
    assert "UTF-8" in str(error) and "row 3" in str(error) and "'b'" in str(error)


def test_too_many_cells(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\t2\n1\t2\t3\n", encoding="utf-8")
    error = _error(path)
    assert (error.file, error.row) == (str(path), 3)


def test_duplicate_and_missing_columns(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\ta\n1\t2\n", encoding="utf-8")
    assert _error(path).row == 1
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    error = _error(path, required=("a", "c"))
    assert (error.row, error.column) == (1, "c")
    assert "'c'" in str(error)


def test_reading_never_writes(tmp_path):
    path = tmp_path / "t.tsv"
    content = b"a\tb\n1\t2\n"
    path.write_bytes(content)
    read_tsv(path)
    assert path.read_bytes() == content
