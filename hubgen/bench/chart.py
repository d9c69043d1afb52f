"""The PNG chart: time and peak memory against length, log-log, one line per configuration.

Log-log because the claim is about growth: a linear cost is a line of slope 1, full attention one of slope 2, and
lines of equal slope stay parallel whatever the machine's speed. The FLOP bound of the reference setting is drawn
dashed on the attention-core time panel, so the distance to it reads at a glance.
"""

from __future__ import annotations

from pathlib import Path

from hubgen.bench.plan import REFERENCE_SETTING
from hubgen.bench.results import BenchResults
from hubgen.errors import HubgenError


def _series(results: BenchResults, section: str, value) -> dict[str, tuple[list[int], list[float]]]:
    lines = {}
    for config in results.configs(section):
        points = [(m.length, value(m)) for m in results.measurements if m.section == section and m.config == config]
        points = [(length, y) for length, y in points if y is not None]
        if points:
            lines[config] = ([length for length, _ in points], [y for _, y in points])
    return lines


def write_chart(results: BenchResults, path: Path) -> None:
    """Write the chart; sections with no measurement get no row of panels."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    except ImportError:
        raise HubgenError("matplotlib is needed for the chart", "pip install 'hubgen[bench]'") from None

    titles = {
        "core": "attention core, fwd+bwd",
        "model": "model, training step",
        "inference": "model, inference",
        "prefill": "llama prefill",
    }
    sections = [s for s in titles if any(m.section == s and m.ok for m in results.measurements)]
    rows = max(1, len(sections))
    figure, axes = plt.subplots(rows, 2, figsize=(13, 5 * rows), squeeze=False)
    for row, section in enumerate(sections):
        time_axis, memory_axis = axes[row]
        for config, (x, y) in _series(results, section, lambda m: m.best).items():
            time_axis.plot(x, y, marker="o", label=config)
        if section == "core":
            bound = _series(
                results, section, lambda m: results.bound_seconds(m) if m.config == REFERENCE_SETTING.label else None
            )
            for config, (x, y) in bound.items():
                time_axis.plot(x, y, linestyle="--", color="black", label=f"FLOP bound of {config}")
        for config, (x, y) in _series(results, section, lambda m: m.peak_mib).items():
            memory_axis.plot(x, y, marker="o", label=config)
        lengths = sorted({m.length for m in results.measurements if m.section == section})
        for axis, quantity in ((time_axis, "seconds (best)"), (memory_axis, "peak memory, MiB")):
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xticks(lengths, [f"{length:,}" for length in lengths])
            axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            axis.yaxis.set_minor_formatter(NullFormatter())
            axis.set_xlabel("tokens")
            axis.set_ylabel(quantity)
            axis.set_title(f"{titles[section]}: {quantity.split(',')[0].split(' (')[0]}")
            axis.grid(True, which="both", alpha=0.3)
            axis.legend(fontsize=7)
    figure.suptitle(f"hubgen bench ({results.machine.get('cpu')}, GEMM {results.gflops or 0:.0f} GFLOP/s)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
