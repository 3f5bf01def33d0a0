"""newswire: tasks."""
