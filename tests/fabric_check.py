"""Shared setup of the leaf-uplink tests (tests/test_collectives.py, tests/test_fabric_nvl72.py):
one all-to-all through the flow simulation and through the collective model."""

from __future__ import annotations

import infra_lab as il
from infra_lab import collectives as C
from infra_lab import fabric as F
from infra_lab._kernels import collectives as K


def leaf_all_to_all(h: dict, size: float = 2.0**28):
    """An all-to-all of ``size`` bytes per GPU on every GPU of hardware ``h``: (the fabric, the
    flow simulation with spray routing, the collective model's leaf-uplink bound [s], the NIC
    bound (n−1)/n · size over the NIC bandwidth [s], il.collective's p2p time [s])."""
    fb = F.Fabric.build(h)
    sim = F.simulate_step(F.step_flows("all_to_all", fb, size), fb, routing="spray")
    P = C.collective_time_params(h).array
    bound = K.leaf_uplink_time(fb.domains, P) * size / P[K.P_BNIC]
    nic = (fb.domains - 1) / fb.domains * size / P[K.P_BNIC]
    model = il.collective("all_to_all", size, h, fb.n_gpus, "p2p").time_s
    return fb, sim, bound, nic, model
