"""newswire: flows."""
