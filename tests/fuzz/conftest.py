"""Prints the outcome counts of the fuzz tests (see ``fuzzkit``) at the end of the run."""

import fuzzkit


def pytest_terminal_summary(terminalreporter):
    if not fuzzkit.COUNTS:
        return
    columns = ("examples", "clear error", "success", "unclear", "leftover")
    width = max(len(name) for name in fuzzkit.COUNTS)
    terminalreporter.section("fuzz outcomes (this process)")
    terminalreporter.write_line(f"{'test':<{width}}  " + "  ".join(f"{c:>16}" for c in columns))
    total = {c: 0 for c in columns}
    for name in sorted(fuzzkit.COUNTS):
        counts = fuzzkit.COUNTS[name]
        terminalreporter.write_line(f"{name:<{width}}  " + "  ".join(f"{counts[c]:>16}" for c in columns))
        for c in columns:
            total[c] += counts[c]
    terminalreporter.write_line(f"{'total':<{width}}  " + "  ".join(f"{total[c]:>16}" for c in columns))
