"""Long models that load without remote code: transformers' own Longformer, BigBird and YOSO classes.

Many organisations forbid `trust_remote_code`. transformers ships three efficient attentions natively; this package
makes a long checkpoint of one of them from a short BERT-like base (`hubgen convert BASE --attention longformer`), or
extends a Longformer, BigBird or YOSO checkpoint to a longer length in its own architecture. The repository holds no
Python file and no `auto_map`: plain `AutoModelFor...from_pretrained(repo)` loads it.
"""
