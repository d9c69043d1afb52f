"""`hubgen bench`: speed and memory of LSG attention, measured honestly.

People pick LSG for its linear cost, so the claim needs numbers that can be trusted and reproduced: every figure
comes from a fresh process, memory is counted tensor by tensor at torch's dispatcher (exact, the same on every
machine), the attention core is `hubgen.lsg.attention` (the code every rendered file includes verbatim) and the
models come from a freshly rendered modeling file (what users run), and times are read against the machine's own GEMM rate through a FLOP lower bound, so a slow machine does not pass for a slow kernel.

Modules, one job each: `plan` (what to measure, the FLOP bound), `worker` (one measurement, run as a script),
`runner` (schedules workers, skips what would take too long), `targets` (the PASS/FAIL table), `report` (tables,
CSV, JSON) and `chart` (the PNG).
"""
