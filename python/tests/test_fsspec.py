"""pandas reads tracked CSV and Parquet files of two revisions through
the cairn:// fsspec protocol."""

import fsspec
import pandas as pd
import pytest

import cairn  # noqa: F401  (registers cairn://)


@pytest.mark.parametrize("rev,rows", [("v1", 2), ("v2", 3)])
def test_pandas_reads_csv_and_parquet_at_a_revision(versions, rev, rows):
    opts = {"rev": rev, "repo": str(versions.path)}
    csv = pd.read_csv("cairn://data/train.csv", storage_options=opts)
    assert len(csv) == rows
    assert list(csv["label"])[:2] == ["cat", "dog"]
    pq = pd.read_parquet("cairn://data/train.parquet", storage_options=opts)
    assert len(pq) == rows
    assert list(pq["id"]) == list(range(1, rows + 1))


def test_parquet_from_s3_in_a_fresh_clone(pushed):
    for rev, rows in (("v1", 2), ("v2", 3)):
        opts = {"rev": rev, "repo": str(pushed.clone)}
        assert len(pd.read_parquet("cairn://data/train.parquet", storage_options=opts)) == rows


def test_the_filesystem_lists_and_describes(versions):
    fs = fsspec.filesystem("cairn", rev="v1", repo=str(versions.path))
    assert fs.ls("", detail=False) == ["data", "model.bin"]
    assert fs.ls("data", detail=False) == ["data/train.csv", "data/train.parquet"]
    assert fs.info("model.bin")["size"] == len(versions.model["v1"])
    assert fs.isdir("data") and fs.isfile("data/train.csv")
    assert fs.cat_file("model.bin", start=10, end=20) == versions.model["v1"][10:20]
    with pytest.raises(FileNotFoundError):
        fs.info("nosuch.csv")
    with pytest.raises(PermissionError):
        fs.open("model.bin", "wb")
    with fsspec.open("cairn://data/train.csv", "rt", rev="v2", repo=str(versions.path)) as f:
        assert f.read() == versions.csv["v2"]
    # pyarrow on the filesystem object: the footer, then one column.
    import pyarrow.parquet as pq

    table = pq.read_table("data/train.parquet", filesystem=fs, columns=["label"])
    assert table.column_names == ["label"] and table.num_rows == 2
