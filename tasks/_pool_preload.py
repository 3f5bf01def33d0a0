"""Imported once by the extraction pool's fork server, before it forks any worker.

Workers then start with the language model and the promo patterns already in
memory (shared, copy-on-write) instead of each decompressing the model again.
"""

from tasks.extract import warm_worker

warm_worker()
