"""Commands that make the files the product ships: the fitted ranker and abstention weights (`training.fit`),
the embedder adapter (`training.adapter`) and the cross-encoder (`training.cross_encoder`). Each is seeded, states its time, and is rebuilt
by its own command; `benchmarks/` only measures.

The commands load transformers, sentence-transformers and peft themselves, so the package sets the offline
environment the engine sets before its own loads (`index.offline`): no command ever reaches a model hub."""

from index.offline import hub_offline

hub_offline()
