"""Exceptions raised by :mod:`kzoo.data`."""


class DataNotAvailableError(FileNotFoundError):
    """The files for a dataset split are not on disk and could not be downloaded.

    The message names the files that were looked for, the folders that were
    searched and how to provide the files (``data_dir=`` or ``KZOO_DATA_DIR``).
    """


class DataFormatError(ValueError):
    """A data file exists but is corrupt, truncated or not in the expected format."""
