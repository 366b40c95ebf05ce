"""A feature table written frame by frame is the file pandas writes from the whole table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clv_core.errors import ConfigError, DataError
from clv_core.feature_files import table_frame, write_feature_frames


def feature_table(n: int = 25) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = [f"C{index:03d}" for index in range(n)]
    ids[3] = "客户-三"
    ids[4] = 'a "quoted", id'
    frame = pd.DataFrame(
        {
            "frequency": rng.integers(0, 9, n).astype(float),
            "monetary_value": rng.gamma(2.0, 40.0, n),
            "std_days_between_purchases": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
            "future_spend": rng.gamma(1.0, 1e7, n),
        },
        index=pd.Index(ids, name="customer_id"),
    )
    frame.iloc[0, 1] = 1e-300
    frame.iloc[1, 1] = 0.1 + 0.2
    return frame


def in_frames(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


@pytest.mark.parametrize("size", [1, 7, 25])
def test_csv_in_frames_is_the_csv_pandas_writes(tmp_path: Path, size: int) -> None:
    frame = feature_table()
    whole, streamed = tmp_path / "whole.csv", tmp_path / "streamed.csv"
    frame.to_csv(whole, encoding="utf-8")
    assert write_feature_frames(in_frames(frame, size), streamed) == len(frame)
    assert streamed.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("size", [1, 7, 25])
def test_parquet_in_frames_has_the_table_and_schema_pandas_writes(
    tmp_path: Path, size: int
) -> None:
    frame = feature_table()
    whole, streamed = tmp_path / "whole.parquet", tmp_path / "sub" / "streamed.parquet"
    frame.to_parquet(whole)
    assert write_feature_frames(in_frames(frame, size), streamed) == len(frame)
    assert pq.read_schema(streamed).equals(pq.read_schema(whole), check_metadata=True)
    pd.testing.assert_frame_equal(pd.read_parquet(streamed), frame, check_exact=True)
    assert pq.ParquetFile(streamed).metadata.num_row_groups == -(-len(frame) // size)


def arrow_parts(frame: pd.DataFrame, size: int) -> Iterator[pa.RecordBatch]:
    """The table as an engine streams it: the ids first, missing values as nulls, counts as
    integers, ids with trailing NUL characters (which the reference's NumPy text drops)."""
    ids = [
        f"{customer}\x00" if index % 5 == 2 else customer
        for index, customer in enumerate(frame.index)
    ]
    columns = {"customer_id": pa.array(ids, pa.string())}
    for name in frame.columns:
        values = frame[name].to_numpy()
        columns[name] = pa.array(values, from_pandas=True)  # NaN -> null
    columns["frequency"] = pa.array(frame["frequency"].to_numpy().astype("int64"))
    table = pa.table(columns)
    for start in range(0, len(frame), size):
        yield table.slice(start, size).to_batches()[0]


@pytest.mark.parametrize("size", [1, 7, 25])
def test_arrow_parts_give_the_files_pandas_writes_from_the_reference_frame(
    tmp_path: Path, size: int
) -> None:
    frame = feature_table()
    assert frame["std_days_between_purchases"].isna().any()
    whole_parquet, whole_csv = tmp_path / "whole.parquet", tmp_path / "whole.csv"
    frame.to_parquet(whole_parquet)
    frame.to_csv(whole_csv, encoding="utf-8")
    parquet, csv = tmp_path / "parts.parquet", tmp_path / "parts.csv"
    assert write_feature_frames(arrow_parts(frame, size), parquet) == len(frame)
    assert write_feature_frames(arrow_parts(frame, size), csv) == len(frame)
    assert pq.read_schema(parquet).equals(pq.read_schema(whole_parquet), check_metadata=True)
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), frame, check_exact=True)
    assert csv.read_bytes() == whole_csv.read_bytes()
    assert pq.ParquetFile(parquet).metadata.num_row_groups == -(-len(frame) // size)


def test_empty_arrow_parts_add_nothing(tmp_path: Path) -> None:
    frame = feature_table()
    (part,) = arrow_parts(frame, len(frame))
    out = tmp_path / "features.parquet"
    assert write_feature_frames([part.slice(0, 0), part, part.slice(0, 0)], out) == len(frame)
    pd.testing.assert_frame_equal(pd.read_parquet(out), frame, check_exact=True)
    assert write_feature_frames([part.slice(0, 0)], tmp_path / "none.parquet") == 0
    assert not (tmp_path / "none.parquet").exists()


def test_an_arrow_part_is_read_as_the_reference_frame() -> None:
    frame = feature_table()
    (part,) = arrow_parts(frame, len(frame))
    pd.testing.assert_frame_equal(table_frame(part), frame, check_exact=True)
    empty = table_frame(part.slice(0, 0))
    assert list(empty.columns) == list(frame.columns) and empty.index.name == "customer_id"
    assert (empty.dtypes == "float64").all()


def failing() -> Iterator[pd.DataFrame]:
    """A first frame, then the engine fails."""
    yield feature_table().iloc[:5]
    raise DataError("the engine stopped")


def test_nothing_is_left_when_a_frame_fails_to_arrive(tmp_path: Path) -> None:
    for name in ("features.csv", "features.parquet"):
        out = tmp_path / name
        with pytest.raises(DataError, match="the engine stopped"):
            write_feature_frames(failing(), out)
        assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_the_previous_file_as_it_was(tmp_path: Path) -> None:
    """The table is complete before it takes the output's place."""
    for name in ("features.csv", "features.parquet"):
        out = tmp_path / name
        write_feature_frames([feature_table()], out)
        before = out.read_bytes()
        with pytest.raises(DataError):
            write_feature_frames(failing(), out)
        assert out.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["features.csv", "features.parquet"]


def test_no_frame_writes_no_file_and_a_wrong_suffix_is_named(tmp_path: Path) -> None:
    assert write_feature_frames(iter([]), tmp_path / "empty.parquet") == 0
    assert not (tmp_path / "empty.parquet").exists()
    with pytest.raises(ConfigError, match=r"must end in \.csv or \.parquet"):
        write_feature_frames([feature_table()], tmp_path / "features.xlsx")


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="Could not write"):
        write_feature_frames([feature_table()], blocker / "features.csv")
