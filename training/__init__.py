"""Commands that make the files the product ships: the fitted ranker and abstention weights (`training.fit`),
the embedder adapter (`training.adapter`) and the reader model. Each is seeded, states its time, and is rebuilt
by its own command; `benchmarks/` only measures."""
