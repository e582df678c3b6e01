"""Timer-triggered functions: the scheduler tick and the retention sweep."""
