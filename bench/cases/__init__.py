"""One module per benchmark case; each ``run(args) -> dict`` returns the JSON of its result."""
