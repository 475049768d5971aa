"""dlcourse."""
