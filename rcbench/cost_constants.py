"""Fitted constants of the cost model (:mod:`rcbench.cost`), written by ``benchmarks/calibrate_cost.py``.

CPU: one torch thread on x86_64 (torch 2.14.1+cu130, 2026-12-03); every timing and the fit's
error are in ``benchmarks/results/cost_calibration.json``. ``QUICK_SECONDS``: measured quick-profile durations
per claim (one run of the whole suite on the same machine), the plan's fixed part of each claim. ``GPU``: assumed
constants of one data-centre GPU (float64 ~7 TFLOP/s sustained on large products, ~15 us per layer of kernel
launches, Philox normals ~20 G/s); not measured here.
"""

CPU = {
    "forward": {
        "call_s": 0.019834481797406423,
        "flops_per_s": 49837096077.554955,
        "normal_s": 0.0
    },
    "grad": {
        "call_s": 0.0002182475197700781,
        "flops_per_s": 1682795614.3155086,
        "normal_s": 0.0
    },
    "gram": {
        "call_s": 0.0013112056331049783,
        "flops_per_s": 789489090.9703727,
        "normal_s": 3.612438757771459e-08
    },
    "chain": {
        "call_s": 0.00010386877812657114,
        "flops_per_s": 8283738811.304278,
        "normal_s": 1.2329598446142156e-07
    },
    "chain_module": {
        "call_s": 0.00015969670676310862,
        "flops_per_s": 32637632718.680946,
        "normal_s": 2.8168946037441988e-08
    },
    "svd": {
        "call_s": 0.003010109860557856,
        "flops_per_s": 32950000746.928417,
        "normal_s": 0.0
    },
    "train": {
        "call_s": 0.0016044003097444401,
        "flops_per_s": 89017932776.06929,
        "normal_s": 0.0
    }
}

GPU = {
    kind: {"call_s": 1.5e-5 * k, "flops_per_s": 7e12, "normal_s": 5e-11}
    for kind, k in {"chain": 4, "chain_module": 6, "gram": 6, "forward": 4, "grad": 8, "train": 10,
                    "svd": 20}.items()
}

QUICK_SECONDS = {
    "A1": 0.732,
    "A2": 1.938,
    "A3": 5.836,
    "A4": 1.767,
    "A5": 7.921,
    "A6": 0.672,
    "A7": 1.358,
    "A8": 1.18,
    "A9": 39.75,
    "A10": 55.561,
    "A11": 14.73,
    "B1": 1.865,
    "B2": 0.314,
    "B3": 1.672,
    "B4": 1.344,
    "B5": 0.021,
    "B7": 0.077,
    "B8": 3.367,
    "B9": 0.055,
    "B10": 0.073,
    "B11": 0.061,
    "B12": 0.564,
    "B13": 10.074,
    "B14": 1.629,
    "B15": 5.81,
    "B16": 2.707,
    "B17": 4.649,
    "B18": 0.08,
    "B19": 0.384,
    "B20": 4.499,
    "B6": 3.892,
    "B21": 0.261,
    "B22": 4.998,
    "B23": 8.409,
    "B24": 0.016,
    "B25": 0.026,
    "B26": 1.839,
    "B27": 5.389,
    "B28": 0.003,
    "B29": 8.278,
    "B30": 7.342,
    "B31": 25.138,
    "B32": 35.596,
    "C1": 1.051,
    "C2": 1.836,
    "C3": 0.864,
    "C4": 11.003,
    "C5": 1.244,
    "C6": 1.545,
    "C7": 4.607,
    "C8": 12.205,
    "C9": 16.098,
    "C10": 9.568,
    "C11": 25.023,
    "D1": 0.152,
    "D2": 0.988,
    "D3": 0.099,
    "D4": 0.319,
    "D5": 5.21,
    "D6": 0.196,
    "D7": 0.167,
    "D16": 0.048,
    "D8": 21.578,
    "D9": 0.375,
    "D10": 1.23,
    "D11": 1.47,
    "D12": 0.232,
    "D13": 0.601,
    "D14": 0.34,
    "D15": 0.131,
    "D17": 0.422,
    "D18": 1.43,
    "D19": 10.764,
    "D20": 62.552
}
