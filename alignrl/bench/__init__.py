"""`alignrl bench`: offline vs online, sync vs async, the bare DeepSpeed floor, TRL side by side, and
weight sync against model size. It sits above the runtime and drives it like a user would."""
