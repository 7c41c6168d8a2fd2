"""The load benchmark: `python3 bench/run.py [--quick]` (see run.py)."""
