"""`hubgen bench`: speed and memory of LSG attention, measured honestly.

People pick LSG for its linear cost, so the claim needs numbers that can be trusted and reproduced: every figure
comes from a fresh process (peak memory only grows in a process, so figures would otherwise mix), the LSG code is
imported from a freshly rendered modeling file (what users run, whatever the core becomes), and times are read
against the machine's own GEMM rate through a FLOP lower bound, so a slow machine does not pass for a slow kernel.

Modules, one job each: `plan` (what to measure, the FLOP bound), `worker` (one measurement, run as a script),
`runner` (schedules workers, skips what would take too long), `targets` (the PASS/FAIL table), `report` (tables,
CSV, JSON) and `chart` (the PNG).
"""
