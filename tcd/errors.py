"""Errors shared by the command line and the code below it (kept apart so neither imports the other).

`UsageError`: a mistake in what was asked; `tcd.cli.main` prints it as one line and exits with status 2.
`InputError`: a real input file that does not fit (a captions CSV, a dataset's annotation file); its message
names the file, the entry and the fix, one line per problem. The `tcd data` commands turn it into a UsageError.
"""


class UsageError(Exception):
    """A mistake in what was asked (printed as one line, exit status 2)."""


class InputError(ValueError):
    """An input file, or files, that do not fit together: every problem listed, one line each."""
