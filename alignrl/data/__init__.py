"""Data: Arrow schemas, Parquet/JSONL readers, the AlpacaEval package, and batch encoding."""
