"""The number formats of the package's printouts, for notebooks and scripts that print figures
the way the package does (one owner each: :mod:`infra_lab`'s result printouts use the same
functions).

- :func:`signed`: a figure with its sign (``'+12.3'``, ``'-30%'``), a zero at the printed
  precision without one (``'0.0'``, never ``'+0.0'`` nor ``'-0.0'``);
- :func:`unsigned_zero`: an already formatted figure's sign dropped where it reads as zero;
- :func:`sig`: 4 significant figures, thousands separated;
- :func:`band_text`: a Monte Carlo band as ``'P50 (P5 to P95)'`` at one precision.

Standard library only. Printouts round (APPROXIMATE by design): the exact values are the
results' attributes.

>>> import infra_lab as il
>>> il.printout.signed(-0.04), il.printout.signed(2.345), il.printout.signed(0.004, 0, percent=True)
('0.0', '+2.3', '0%')
"""

from __future__ import annotations

from ._repr import band_text, sig, signed, unsigned_zero

__all__ = ["signed", "unsigned_zero", "sig", "band_text"]
