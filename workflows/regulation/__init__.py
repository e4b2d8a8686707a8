"""The 2017 Nanyang regulation's domain: organisation and roles, accountability (Ch. 5), the annual cycle
(Art. 7–25), their tables and queries. It builds the engine's parts (``wiring.py``); the engine never
imports it."""
