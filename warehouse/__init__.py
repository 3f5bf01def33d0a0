"""newswire: warehouse."""
