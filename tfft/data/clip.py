"""Cutting huge cells out of a CSV as it streams, before pandas holds them whole.

pandas' C parser holds a cell about three times over while it reads it (one 100 MB cell
among 40 short rows: 416 MB peak against 109 MB, measured). A file with a line longer
than the cut is first copied with every cell cut to ``max_bytes``, a megabyte at a time,
so the peak stays near that of the same file without the cell.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

CHUNK = 2**20  # bytes read at a time


def longest_line(path: str) -> int:
    """Bytes of the longest physical line of ``path`` (read a chunk at a time; the line ends
    of a chunk are found with numpy, so this costs a fraction of pandas' own read)."""
    longest = current = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 0x0A)
            if not len(ends):
                current += len(chunk)
                continue
            inner = int(np.diff(ends).max()) - 1 if len(ends) > 1 else 0
            longest = max(longest, current + int(ends[0]), inner)
            current = len(chunk) - int(ends[-1]) - 1
    return max(longest, current)


def copy_cut(path: str, out: BinaryIO, delimiter: str, max_bytes: int) -> int:
    """Copies the CSV ``path`` to ``out`` with each cell cut to ``max_bytes`` (at a UTF-8
    character boundary); quotes, delimiters and line ends are kept, so the table is the
    same but for the cut cells. Returns how many cells were cut."""
    specials = re.compile(b'["' + re.escape(delimiter.encode()) + b"\r\n]")
    quoted, kept, cut, cutting = False, 0, 0, False
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            start = 0
            for match in specials.finditer(chunk):
                kept, cutting, cut = _text(out, chunk[start:match.start()], kept, max_bytes, cutting, cut)
                char = match.group()
                if char == b'"':
                    quoted = not quoted  # "" inside quotes closes and reopens: the same bytes either way
                    out.write(char)
                elif quoted:
                    kept, cutting, cut = _text(out, char, kept, max_bytes, cutting, cut)
                else:  # a cell ends
                    out.write(char)
                    kept, cutting = 0, False
                start = match.end()
            kept, cutting, cut = _text(out, chunk[start:], kept, max_bytes, cutting, cut)
    return cut


def _text(out: BinaryIO, data: bytes, kept: int, max_bytes: int, cutting: bool, cut: int) -> tuple[int, bool, int]:
    """Writes what of ``data`` still fits the cell; returns the cell's bytes, whether it is
    being cut, and the count of cut cells."""
    if not data:
        return kept, cutting, cut
    if cutting:
        return kept, cutting, cut
    if kept + len(data) <= max_bytes:
        out.write(data)
        return kept + len(data), False, cut
    head = data[:max_bytes - kept]
    while head and head[-1] & 0xC0 == 0x80:  # back off the continuation bytes of a split character
        head = head[:-1]
    if head and head[-1] >= 0xC0:  # and its lead byte
        head = head[:-1]
    out.write(head)
    return max_bytes, True, cut + 1
