"""Fixtures of the model tests."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


@pytest.fixture
def write_judgments(tmp_path):
    """Write judgments-schema rows to `pairs.parquet`, with a `prompts.parquet` beside it; returns the pairs path."""

    def write(rows: list[dict]):
        cols = {k: [r.get(k) for r in rows] for k in ("prompt_id", "generator_b", "output_a", "output_b",
                                                       "preference")}
        pq.write_table(pa.table(cols), tmp_path / "pairs.parquet")
        ids = sorted({r["prompt_id"] for r in rows})
        pq.write_table(pa.table({"prompt_id": ids, "instruction": [f"question {i}" for i in ids]}),
                       tmp_path / "prompts.parquet")
        return tmp_path / "pairs.parquet"

    return write
