"""Benchmark: sequence packing (first-fit-decreasing, numba segment tree vs the plain-Python
linear-scan reference) and the multimodal step model (a data-mix change on the Maia-class
scenario, the widget's callback path).

Packing: sample lengths of a text + image + audio stream (``il.multimodal.sample_stream`` of
the Maia-class model at 4,096 positions), 2,000 to 50,000 samples. Both paths must place every
sample in the same sequence before any speed is reported. Medians of several repeats after a
warm-up call (numba's compile or cache load is not timed).

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import numpy as np
from _timing import median_time

import infra_lab as il

MM = il.multimodal


def _lengths(n: int) -> np.ndarray:
    spec = MM.system("maia-class")
    st = MM.sample_stream(spec, {"text": 0.5, "image": 0.3, "audio": 0.2}, 4096, seed=1, sequences=4096)
    pos = st["positions"].to_numpy()
    reps = int(np.ceil(n / pos.size))
    return np.tile(pos, reps)[:n]


def main() -> None:
    headline = {}
    for n in (2_000, 10_000, 50_000):
        x = _lengths(n)
        a = MM.pack(x, 4096)
        b = MM.pack(x, 4096, reference=True) if n <= 10_000 else None
        if b is not None:
            assert np.array_equal(a["bin"], b["bin"]), "kernel and reference disagree"
        t_nb = median_time(lambda x=x: MM.pack(x, 4096), 7, warmup=True)
        line = f"{n:>7,} samples -> {a['sequences']:>6,} sequences, waste {100 * a['waste']:.3f} %: numba {t_nb * 1e3:8.2f} ms"
        if b is not None:
            t_ref = median_time(lambda x=x: MM.pack(x, 4096, reference=True), 3, warmup=True)
            line += f" | reference {t_ref * 1e3:9.1f} ms | ratio {t_ref / t_nb:,.0f}x"
            headline[n] = (t_nb, t_ref)
        print(line)
    base = il.load_scenario("maia-class-ibm-mi300x").to_dict()
    mixes = [{"text": 1 - i / 20 - 0.1, "image": i / 20, "audio": 0.1} for i in range(1, 13)]

    def one(i=[0]):  # noqa: B006  (a counter: each call a new mix, as a slider move)
        d = dict(base)
        d["training"] = {**base["training"], "data_mix": mixes[i[0] % len(mixes)]}
        i[0] += 1
        return MM.estimate(d)

    one()
    t_mix = median_time(one, 9, warmup=False)
    print(f"Maia-class estimate after a data-mix change (packing + encoder tables + kernel): {t_mix * 1e3:.0f} ms")
    n, (t_nb, t_ref) = 10_000, headline[10_000]
    print(f"pack_ffd_10k_ms={t_nb * 1e3:.3f}")
    print(f"pack_reference_10k_ms={t_ref * 1e3:.1f}")
    print(f"pack_speedup_10k={t_ref / t_nb:.0f}")
    print(f"mix_change_ms={t_mix * 1e3:.0f}")


if __name__ == "__main__":
    main()
