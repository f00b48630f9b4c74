"""The error raised for bad input data."""


class DataError(ValueError):
  """Bad input data: names the file, the field and what was expected.

  Args:
    path: the file (or directory) that holds the bad data.
    what: what is wrong, and what to do about it.
    field: optional key/field/record inside the file.
  """

  def __init__(self, path, what: str, field: str | None = None):
    self.path = str(path)
    self.field = field
    self.what = what
    where = self.path if field is None else f"{self.path} [{field}]"
    super().__init__(f"{where}: {what}")
