"""Label a corpus with a trained model: ``python -m training.predict MODEL INPUT --output OUT``.

Modules: ``run`` (shards, processes, summary), ``inputs`` (INPUT as a stream of rows), ``model``
(MODEL and backend -> an engine), ``engine`` (bucketed, pipelined batches), ``parts`` (output layout,
atomic shards, manifest, merge), ``sets`` (a multi-label model's predicted sets and its metrics from
per-shard counts), ``guard`` (the output's lock, inputs never overwritten, weights' sha256).
"""
