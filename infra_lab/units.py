"""Units and conversions. Inside infra_lab everything is SI: bytes, seconds, FLOP, FLOP/s,
bytes/s, watts, US dollars. Display units appear only at the edges (tables, charts).

GB = 1e9 bytes and GiB = 2**30 bytes are kept apart; network line rates are in bits per
second (Gb/s = 1e9 bit/s; divide by :data:`BITS_PER_BYTE`). Bandwidths are per direction
unless a name says ``bidir``.

The scale constants here are the ones the package multiplies by: ``catalog`` converts the
data tables' display units to SI with them, ``cluster``, ``economics`` (hours per year),
``reliability``, ``expansion`` and ``multimodal`` convert seconds to hours and days with
:data:`HOUR` and :data:`DAY`. (The unused conversion functions of 0.1.0 are gone: a
multiplication by a named constant says the same.) Which precisions have a peak is
:data:`infra_lab.catalog.PEAK_PRECISIONS`; bytes per element of a number format is
:func:`infra_lab.catalog.format_bytes` (data/serving/number_formats.csv). The symbols and
units used across the package are listed in docs/glossary.md.
"""

from __future__ import annotations

KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12
PB = 1e15
KiB = 2.0**10
MiB = 2.0**20
GiB = 2.0**30
TiB = 2.0**40

TFLOP = 1e12
PFLOP = 1e15
EFLOP = 1e18

US = 1e-6  # one microsecond [s]
MS = 1e-3
HOUR = 3600.0
DAY = 86400.0
YEAR = 365.25 * DAY

BITS_PER_BYTE = 8.0
KW = 1e3  # one kilowatt [W]

