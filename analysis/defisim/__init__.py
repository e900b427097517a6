"""Analysis helpers for defisim results files (see analysis/FORMAT.md).

Needs numpy and h5py (Debian: apt-get install python3-numpy python3-h5py);
figures also need matplotlib (python3-matplotlib); pandas is optional.
analysis/python.sh prints a python3 that has them.
"""
from .results import (
    FILETYPE,
    STATISTICS,
    SUPPORTED_MAJOR,
    Results,
    ResultsFormatError,
    open_results,
)

__all__ = [
    "FILETYPE",
    "STATISTICS",
    "SUPPORTED_MAJOR",
    "Results",
    "ResultsFormatError",
    "open_results",
    "quickstart_figure",
]


def quickstart_figure(*args, **kwargs):
    """See defisim.figures.quickstart_figure (imported lazily: needs matplotlib)."""
    from .figures import quickstart_figure as _quickstart_figure

    return _quickstart_figure(*args, **kwargs)
