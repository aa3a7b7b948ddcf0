"""The `alignrl` command line, job submission and cluster helpers."""
