"""Activity functions: every piece of I/O an orchestration needs."""
