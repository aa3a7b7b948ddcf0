"""alignrl: a distributed RLHF actor system.

The pure core lives here: configuration, tasks, tiny offline models, algorithm math
and data schemas. Ray-facing code lives in `alignrl.runtime`, `actors` and `learners`.
"""

__version__ = "0.1.0"
