"""Execution plumbing below the algorithms: atomic, checksummed checkpoint stores (`checkpoint`),
campaigns of independent tasks on Dask or in-process (`campaign`), and the software/machine record of
a run (`environment`).
"""
