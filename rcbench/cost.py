"""The cost of a claim's configuration before running it: ``rcbench plan``.

For every claim, :func:`workloads` turns the claim's profile configuration (the same dict the claim test reads, with
``--set`` overrides) into a list of :class:`Work` items of one *kind* each -- the family of code that does the work:

* ``chain``    explicit-weight chains layer by layer (:func:`rcbench.experiments.rank_collapse.linear_chain`, the
               B2x nets): per layer and network one ``(n x d) @ (d x d)`` product, ``d^2`` Gaussian draws;
* ``gram``     the exact Gram-chain sampler (:class:`rcbench.networks.GramChain`, paper B's chains): ``n^2 d`` flops,
               ``n d`` draws per layer and run;
* ``forward``  explicit MLP forward passes with per-layer metrics (paper D, C's forward identities);
* ``grad``     forward + backward passes (paper C's gradient sweeps);
* ``train``    SGD/Adam training (Fig. 1, 4, 6 of paper A, B's Fig. 3/4, D's training curves), conv nets included;
* ``svd``      float64 thin SVDs of ``N x d`` representations (B27/B28's iterative Eq. (6) init, one per square layer,
               variant and seed): ``6 N d^2 + 20 d^3`` flops each (R-SVD count);
* ``mc``       Monte-Carlo and theory tables (counts of small draws).

Each item counts the *dominant operations*: ``calls`` (Python-level layer/step calls, which bound small sizes),
``flops`` (matrix products), ``normals`` (Gaussian draws), ``bytes`` (the largest resident tensors, for peak
memory) and ``cells`` (independent calls that ``--executor local`` can run in parallel). Its time on one CPU core is
``calls * c + flops / R + normals * t_n`` with per-kind constants ``(c, R, t_n)`` fitted by
``benchmarks/calibrate_cost.py`` to timings of small truncations of the same experiment functions
(:mod:`rcbench.cost_constants`). ``mc`` items have no absolute constants: their time is the claim's measured quick
time scaled by the operation ratio.

The estimate of a claim is the modelled time of its paper configuration plus the fixed part of its measured
quick-profile time (imports, data, theory: measured quick time minus the modelled quick time, floored at 0; the
measured quick durations are :data:`rcbench.cost_constants.QUICK_SECONDS`). All cores: cells spread over the cores
(a single cell does not get faster: the suite runs one torch thread per cell). One GPU: the same operation counts
with assumed data-centre-GPU constants (:data:`rcbench.cost_constants.GPU`; *not measured here*).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from rcbench.catalog import CLAIMS

__all__ = ["Work", "ClaimCost", "workloads", "claim_config", "estimate", "plan_claims", "register", "HOURS_WARNING_S"]

#: ``rcbench run`` warns before work estimated at more than this many seconds (one hour)
HOURS_WARNING_S = 3600.0
_DIGITS = (1797, 64, 10)  # scikit-learn digits: samples, features, classes (the training data without --data-root)
_CIFAR = (50000, 3072, 10)

# which experiments module holds each claim's configuration (no import of torch until needed)
_MODULES = {"A": "rank_collapse", "C": "gradients", "D": "isometry"}
_B_NETS = {"B6", "B21", "B22", "B23", "B24", "B25", "B26", "B27", "B28", "B29", "B30", "B31", "B32"}
#: claims whose test reads another claim's computation (the harness caches calls within a session)
SHARED = {"B9": "B8", "B10": "B8", "B11": "B8", "B18": "B15", "B24": "B23", "B25": "B23", "B28": "B27"}


@dataclass
class Work:
    kind: str
    calls: float = 0.0
    flops: float = 0.0
    normals: float = 0.0
    bytes: float = 0.0
    cells: int = 1
    what: str = ""


@dataclass
class ClaimCost:
    claim: str
    profile: str
    works: list[Work] = field(default_factory=list)
    cpu_1core_s: float = 0.0
    cpu_all_s: float = 0.0
    gpu_s: float = 0.0
    overhead_s: float = 0.0
    note: str = ""

    @property
    def flops(self) -> float:
        return sum(w.flops for w in self.works)

    @property
    def normals(self) -> float:
        return sum(w.normals for w in self.works)

    @property
    def peak_bytes(self) -> float:
        return max([w.bytes for w in self.works] + [0.0])

    @property
    def dominant(self) -> str:
        return max(self.works, key=lambda w: w.flops + 1e3 * w.calls, default=Work("none")).kind

    def as_dict(self) -> dict:
        return {"claim": self.claim, "profile": self.profile, "flops": self.flops, "normals": self.normals,
                "calls": sum(w.calls for w in self.works), "peak_bytes": self.peak_bytes, "dominant": self.dominant,
                "cpu_1core_s": round(self.cpu_1core_s, 2), "cpu_all_cores_s": round(self.cpu_all_s, 2),
                "gpu_s": round(self.gpu_s, 2), "overhead_s": round(self.overhead_s, 2), "note": self.note,
                "works": [dict(w.__dict__) for w in self.works]}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------------------
def _module_for(cid: str) -> str:
    if cid[0] == "B":
        return "orthogonality_nets" if cid in _B_NETS else "orthogonality"
    return _MODULES[cid[0]]


def claim_config(cid: str, profile: str) -> dict:
    """The claim's profile configuration (with active ``--set`` overrides); ``{}`` for a claim without one."""
    import importlib

    mod = importlib.import_module(f"rcbench.experiments.{_module_for(cid)}")
    profiles = getattr(mod, "PROFILES", {})
    cfg = dict(profiles.get(profile, {}).get(cid, {})) if cid in profiles.get(profile, {}) else None
    if cfg is None:
        return {}
    try:
        return mod.config(cid, profile)
    except (KeyError, ValueError):
        return cfg


def _list(v) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _n(v, default=1):
    return default if v is None else v


# ---------------------------------------------------------------------------------------------------------------
# operation counts per family
# ---------------------------------------------------------------------------------------------------------------
def chain(widths, depth, nets, *, n=None, measured=None, chunk=100, resident=None, arms=1, fast=False,
          what="") -> Work:  # fmt: skip
    """Explicit-weight chain: ``nets`` networks of ``depth`` layers per width, each with ``arms`` arms that share
    its weights (``linear_chain_arms``: one weight draw, ``arms`` products). ``fast``: the batched stepping of
    :mod:`rcbench.networks.fast_chain` (kind ``chain``), else ``MLP`` modules per chunk (kind ``chain_module``)."""
    w = Work("chain" if fast else "chain_module", what=what, cells=len(_list(widths)))
    for d in _list(widths):
        m = d if n is None else n
        w.calls += depth
        w.flops += depth * nets * arms * 2.0 * m * d * d
        w.normals += depth * nets * d * d
        meas = depth if measured is None else measured
        w.flops += meas * nets * arms * 4.0 * m * d * min(m, d)  # an SVD/eig of the representation per measured layer
        w.bytes = max(w.bytes, 8.0 * (resident or nets * arms) * (min(chunk, depth) * d * d + 4 * m * d))
    return w


def gram(n, widths, depth, runs, *, what="") -> Work:
    """Exact Gram-chain sampler: per layer and run a Gram, an n x n factor and an (n x n) @ (n x d) product."""
    w = Work("gram", what=what, cells=len(_list(widths)))
    for d in _list(widths):
        w.calls += depth
        w.flops += depth * runs * 4.0 * n * n * d
        w.normals += depth * runs * n * d
        w.bytes = max(w.bytes, 8.0 * runs * (4 * n * d + depth * n * n))
    return w


def forward(width, n, depth, nets, *, cells=1, what="") -> Work:
    """Explicit MLP forward with a metric per layer: weights ``d^2`` draws, ``2 n d^2`` flops per layer."""
    d = width
    return Work("forward", calls=depth * cells, flops=depth * nets * (2.0 * n * d * d + 10.0 * n**3),
                normals=depth * nets * d * d, bytes=8.0 * nets / cells * (depth / cells * d * d + 4 * n * d), cells=cells,
                what=what)  # fmt: skip


def grad(width, batch, depth, nets, *, in_features=None, cells=1, what="") -> Work:
    """Forward + backward of an explicit MLP: 3x the forward flops."""
    d, fin = width, in_features or width
    flops = nets * 6.0 * batch * (fin * d + depth * d * d)
    return Work("grad", calls=3 * depth * cells, flops=flops, normals=nets * (fin * d + depth * d * d),
                bytes=8.0 * nets / cells * (depth / cells) * (d * d + 3 * batch * d), cells=cells, what=what)  # fmt: skip


def train(width, depth, steps, batch, nets, *, in_features, classes=10, cells=1, what="") -> Work:
    """SGD steps (forward + backward + update) of an MLP of ``depth`` hidden layers."""
    d = width
    per_sample = 6.0 * (in_features * d + depth * d * d + d * classes)
    return Work("train", calls=steps * depth * cells, flops=nets * steps * batch * per_sample,
                normals=nets * (in_features * d + depth * d * d),
                bytes=4.0 * 4 * nets / cells * (in_features * d + depth / cells * d * d + batch * d),
                cells=cells, what=what)  # fmt: skip


def conv_flops(cfg, hw=32, c_in=3) -> float:
    """Forward flops of a VGG-style stack (3x3 convs, 'M' = 2x2 max-pool) per image."""
    flops, c = 0.0, c_in
    for v in cfg:
        if v == "M":
            hw //= 2
        else:
            flops += 2.0 * 9 * c * v * hw * hw
            c = v
    return flops


def svd(N, d, count, *, cells=1, what="") -> Work:
    """``count`` float64 thin SVDs (vectors included) of ``N x d`` matrices, ``N >= d``."""
    return Work("svd", calls=float(count), flops=float(count) * (6.0 * N * d * d + 20.0 * d**3),
                bytes=8.0 * 3 * N * d, cells=cells, what=what)  # fmt: skip


def mc(ops, *, what="") -> Work:
    return Work("mc", calls=0.0, flops=float(ops), what=what)


def _data(cfg) -> tuple[int, int, int]:
    return _CIFAR if cfg.get("data_root") else _DIGITS


# ---------------------------------------------------------------------------------------------------------------
# per claim: which experiments its test runs, with which sizes
# ---------------------------------------------------------------------------------------------------------------
def _a_chain(c: Mapping, arms: int = 1, what="chain") -> Work:
    """``arms`` arms batched in one ``linear_chain_arms`` call (A3, A5): shared weight draws."""
    depth = c["depth"]
    measured = len(range(c.get("burn_in", 0), depth + 1, c.get("sample_every", 1)))
    fast = c.get("init", "gaussian") in ("gaussian", "gaussian_unit")  # fast_chain.supported for these claims
    return chain(c["widths"], depth, c.get("seeds", 5), n=c.get("batch"), measured=measured, arms=arms, fast=fast,
                 what=what)  # fmt: skip


def _w_a(cid, cfg) -> list[Work]:
    if cid == "A2":
        lyap = cfg["lyapunov"]
        out = [_a_chain(cfg["collapse"], what="collapse")]
        if not lyap.get("reuse_collapse"):
            for d in _list(lyap["widths"]):
                out.append(chain([d], lyap["depth_factor"] * d, lyap["seeds"], measured=lyap["depth_factor"] * d
                                 * lyap.get("sample_fraction", 1.0), fast=True, what=f"lyapunov d={d}"))  # fmt: skip
        return out
    if cid == "A3":
        arms = len(cfg["norms"]) * len(cfg["gammas"])
        return [_a_chain(cfg["chain"], arms, f"{arms} norm x gamma arms"), _a_chain(cfg["control"], 1, "control")]
    if cid == "A5":
        arms = len(cfg["gammas"])
        return [_a_chain(cfg["chain"], arms, f"{arms} gammas"), _a_chain(cfg["control"], 1, "control")]
    if cid == "A4":  # BN and vanilla: two calls
        return [_a_chain(cfg["chain"], what="bn"), _a_chain(cfg["chain"], what="vanilla")]
    if cid == "A7":
        return [_a_chain(cfg["chain"])]
    if cid == "A6":
        r = cfg["recovery"]
        return [chain(r["width"], r["depth"], r["seeds"] * 2, measured=r["depth"], fast=True)]
    if cid == "A8":
        r = cfg["init_rank"]
        return [forward(128, 128, sum(_list(r["hidden_layers"])) + len(_list(r["hidden_layers"])), 3 * r["seeds"])]
    if cid == "A9":
        r = cfg["training"]
        N, fin, k = _data(r)
        hls = _list(r["hidden_layers"])
        return [train(128, sum(hls) + len(hls), r["steps"], r["batch"], 3 * r["seeds"], in_features=fin,
                      cells=len(hls), what="3 arms x hidden layers")]  # fmt: skip
    if cid == "A10":
        r = cfg["pretraining"]
        N, fin, k = _data(r)
        arms = len(r["pretrain_steps"])
        steps = r["epochs"] * math.ceil(N / r["batch"])
        return [train(r["width"], r["depth"], steps, r["batch"], r["seeds"] * arms, in_features=fin, cells=arms)]
    if cid == "A11":
        r = cfg["conv"]
        return [Work("train", calls=4 * len(r["cfg"]), flops=4 * r["seeds"] * r["batch"] * conv_flops(r["cfg"]),
                     bytes=8.0 * r["seeds"] * r["batch"] * 64 * 32 * 32 * 4, cells=4, what="4 BN variants, forward")]
    return []


def _w_b(cid, cfg) -> list[Work]:
    g = cfg.get
    if cid in ("B1",):
        return [mc(g("count") * sum(n**3 + n * g("d_max") for n in _list(g("ns"))))]
    if cid == "B3":
        return [mc(g("count") * g("n_max") ** 2 * g("d_max"))]
    if cid == "B4":
        return [mc(g("count") * g("n_max") ** 3 + g("mc_draws") * sum(_list(g("isotropy_ns"))))]
    if cid == "B5":
        return [mc(g("steps") * sum(n**3 for n in _list(g("ns"))) * len(_list(g("start"))))]
    if cid in ("B8", "B9", "B10", "B11"):
        return [mc(g("draws") * len(_list(g("kinds"))) * sum(d**3 for n in _list(g("ns")) for d in _list(g("widths"))))]
    if cid == "B6":
        # one_layer_orthogonalization, per width and matrix: Eq. (6) for 4 variants (thin SVD with vectors each),
        # svdvals of H and of the 4 outputs (~half an SVD each), and the sample-side gap V of H and of the 4
        # outputs from an N x N eigvalsh (~4 N^3 flops), N = ratio * d
        m, out = g("matrices"), []
        for d in _list(g("widths")):
            N = g("ratio") * d
            out.append(svd(N, d, m * 6.5, what=f"d={d}: Eq. (6) and svdvals"))
            out.append(Work("svd", calls=5.0 * m, flops=5.0 * m * 4.0 * N**3, bytes=8.0 * m * N * N,
                            what=f"d={d}: N x N eigvalsh"))
        return out
    if cid == "B2":  # three literal (explicit-weight) chains: BN, BN without the gain, vanilla
        return [chain(g("widths"), g("depth"), 3 * g("runs"), n=g("n"), what="3 literal chains")]
    if cid == "B20":  # gaussianity: explicit-weight MLPs (BN and vanilla arms) of depth + layers, all resident
        return [chain(g("widths"), g("depth") + g("layers"), 2 * g("runs"), n=g("n", 4), chunk=g("depth") + g("layers"),
                      measured=g("layers"), what="explicit BN and vanilla chains")]  # fmt: skip
    if cid in ("B7", "B12", "B13", "B14", "B15", "B16", "B17", "B18", "B19"):
        out = []
        ns = _list(g("ns")) or [g("n", 4)]
        widths = _list(g("widths")) or _list(g("width"))
        for n in ns:
            out.append(gram(n, widths, g("depth"), g("runs"), what=f"n={n}"))
        if g("random_depth"):
            out.append(gram(g("n", 4), widths, g("random_depth"), g("random_runs", g("runs")), what="random input"))
        if g("info_widths"):
            out.append(gram(g("info_n", 4), g("info_widths"), g("depth"), g("info_runs", g("runs")), what="info"))
        if g("literal_widths"):
            out.append(chain(g("literal_widths"), g("depth"), g("literal_runs", g("runs")), n=g("n", 4),
                             what="explicit weights"))  # fmt: skip
        if g("control_runs"):
            out.append(chain(widths[:1], g("depth"), g("control_runs"), n=g("n", 4), what="control"))
        return out
    if cid == "B21":
        return [chain([g("width")], g("depth"), g("seeds") * 2, n=g("width"))]
    if cid == "B22":
        # vanilla and BN arms share each layer's weight draw, drawn layer by layer (one layer resident)
        w = chain(g("widths"), g("depth"), g("seeds"), n=g("n"), chunk=1, arms=2, what="vanilla and BN arms")
        return [w]
    if cid in ("B23", "B24", "B25"):
        return [chain(g("widths"), g("depth"), g("seeds") * 4, n=g("n"), chunk=g("chunk", 25),
                      what="4 activations")]  # fmt: skip
    if cid == "B26":
        return [chain([g("width")], g("depth"), g("seeds") * 2, n=g("n"))]
    if cid in ("B27", "B28"):
        # initial_gap: per depth, one net per variant (xavier + 4 Eq. (6) variants by default); each Eq. (6) variant
        # runs one float64 SVD of the (init_ratio * width) x width init-batch representation per square layer and
        # seed -- the dominant cost (the forward passes are ~1% of it)
        depths = _list(g("depths"))
        variants = len(_list(g("variants"))) or 5
        n_init = g("init_ratio") * g("width")
        # one initial_gap call for all depths: one cell
        return [svd(n_init, g("width"), (variants - 1) * sum(d - 2 for d in depths) * g("seeds"),
                    what=f"Eq. (6) SVDs, {variants - 1} variants"),
                Work("forward", calls=sum(depths) * variants, what="init and eval batches",
                     flops=2.0 * g("seeds") * variants * sum(depths) * (n_init + g("n_eval")) * g("width") ** 2,
                     normals=g("seeds") * variants * sum(depths) * g("width") ** 2,
                     bytes=8.0 * g("seeds") * (max(depths) * g("width") ** 2 + 4 * n_init * g("width")))]
    if cid in ("B29", "B30", "B31"):
        N, fin, k = _data(cfg)
        depths = _list(g("depths")) or [g("depth")]
        variants = len(_list(g("variants"))) or 1
        steps = g("epochs") * math.ceil(N / g("batch_size"))
        return [train(g("width"), sum(depths), steps, g("batch_size"), g("seeds") * variants, in_features=fin,
                      cells=len(depths) * variants)]  # fmt: skip
    if cid == "B32":
        N = g("train_size") or _data(cfg)[0]
        convs = _list(g("convs"))
        c = g("channels")
        steps = g("epochs") * math.ceil(N / g("batch_size"))
        per_img = sum(2.0 * 9 * c * c * 8 * 8 * k for k in convs)  # 3x3 convs at 8 x 8 (digits)
        return [Work("train", calls=steps * sum(convs), flops=3 * g("seeds") * steps * g("batch_size") * per_img,
                     bytes=4.0 * g("seeds") * g("batch_size") * c * 64 * max(convs), cells=len(convs))]
    return []


def _w_c(cid, cfg) -> list[Work]:
    g = cfg.get
    if cid in ("C1", "C3"):
        return [mc(g("count") * g("d_max") ** 3)]
    if cid == "C2":
        return [mc(g("count") * g("d_max") ** 3)]
    if cid == "C4":
        return [mc(g("samples") * sum(_list(g("widths"))) ** 2 * len(_list(g("epsilons"))))]
    if cid in ("C5", "C6"):
        return [grad(d, d, g("depth"), g("seeds"), what=f"d={d}") for d in _list(g("widths"))]
    if cid in ("C7", "C8", "C9", "C10", "C9_deep"):
        arms = len(_list(g("epsilons"))) or 1
        depths = _list(g("depths"))
        return [grad(g("width"), g("batch"), sum(depths), g("seeds") * arms, in_features=g("in_features"),
                     cells=len(depths))]  # fmt: skip
    if cid == "C11":
        N = g("train_size") or _data(cfg)[0]
        depths = _list(g("depths"))
        steps = g("epochs") * math.ceil(N / g("batch"))
        return [train(g("width"), sum(depths), steps, g("batch"), g("seeds") * 2, in_features=_data(cfg)[1],
                      cells=len(depths))]  # fmt: skip
    return []


def _w_d(cid, cfg) -> list[Work]:
    g = cfg.get
    acts = len(_list(g("activations"))) or 1
    if cid in ("D1", "D2", "D3"):
        m = g("max_n") or g("max_d")
        return [mc(g("trials") * m**3)]
    if cid == "D4":
        return [mc(g("samples") * acts)]
    if cid == "D6":
        return [mc(g("points"))]
    if cid in ("D7", "D9", "D10", "D11", "D12", "D13", "D14", "D15"):  # ln_trace: the Gram-chain sampler
        return [gram(g("n"), [g("d")] * acts, g("depth"), g("seeds"), what=f"{acts} activations")]
    if cid == "D8":
        # ln_steps: explicit N(0, 1/d) weights (all depth x seeds d x d matrices drawn), 4 gaps per block
        out = [chain([g("d")] * acts, g("depth"), g("seeds"), n=g("n"), measured=4 * g("depth"), chunk=g("depth"),
                     what="LN sub-layer steps, explicit weights")]  # fmt: skip
        out[0].cells = 1  # one ln_steps call for all activations
        # the training part reads its own entry "D8.train" (two tests: the non-odd activations and tanh)
        try:
            t = claim_config("D8.train", cfg.get("__profile__", "quick"))
        except Exception:  # noqa: BLE001 - optional
            t = {}
        if t:
            N, fin, k = _data(t)
            ta = len(_list(t["activations"])) or 1
            # _sgd_epochs: a forward-only epoch 0 (~1/3 of a step) then `epochs` epochs of full batches (drop_last)
            steps = (t["epochs"] + 1 / 3) * (N // t["batch_size"])
            # two calls: the non-odd activations and tanh (test_d8_tanh_ln_step_in_training)
            out.append(train(t["width"], t["depth"], steps, t["batch_size"], t["seeds"] * ta, in_features=fin,
                             cells=2, what="training (D8.train)"))  # fmt: skip
            probes = t.get("probe_batch", 32) * t.get("probe_batches", 4)
            out.append(forward(t["width"], probes, 2 * 3 * t["depth"], t["seeds"] * ta, cells=2,
                               what="sub-layer gaps at init and after training"))  # fmt: skip
        return out
    if cid in ("D17", "D18"):
        return [gram(g("n"), g("widths"), g("depth"), g("seeds") * 2, what="LN and mean-field")]
    if cid == "D19":
        N, fin, k = _data(cfg)
        return [forward(g("width"), g("batch"), g("depth"), g("seeds") * acts, cells=acts)]
    if cid == "D20":
        N, fin, k = _data(cfg)
        steps = (g("epochs") + 1 / 3) * (N // g("batch_size"))  # _sgd_epochs: forward-only epoch 0, full batches
        return [train(g("width"), g("depth"), steps, g("batch_size"), g("seeds") * acts, in_features=fin, cells=acts)]
    return []


def workloads(cid: str, cfg: Mapping) -> list[Work]:
    """The dominant operations of claim ``cid`` run with configuration ``cfg`` (see the module docstring)."""
    if not cfg:
        return []
    fn = {"A": _w_a, "B": _w_b, "C": _w_c, "D": _w_d}[cid[0]]
    out = fn(cid, cfg)
    if cid == "C9":  # the deep sibling test reads its own configuration
        try:
            out += _w_c("C9_deep", claim_config("C9_deep", cfg.get("__profile__", "quick")))
        except Exception:  # noqa: BLE001 - optional
            pass
    return out


# ---------------------------------------------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------------------------------------------
def _seconds(w: Work, consts: Mapping) -> float:
    c = consts.get(w.kind)
    if c is None:
        return 0.0
    return w.calls * c["call_s"] + w.flops / c["flops_per_s"] + w.normals * c["normal_s"]


def estimate(cid: str, profile: str = "paper", *, cores: int | None = None, consts=None) -> ClaimCost:
    """The cost of claim ``cid`` at ``profile`` (see the module docstring)."""
    from rcbench import cost_constants as K

    consts = K.CPU if consts is None else consts
    cores = cores or os.cpu_count() or 1
    cfg = claim_config(cid, profile)
    works = workloads(cid, {**cfg, "__profile__": profile})
    q_cfg = claim_config(cid, "quick")
    q_works = workloads(cid, {**q_cfg, "__profile__": "quick"})
    q_meas = K.QUICK_SECONDS.get(cid)
    cost = ClaimCost(cid, profile, works)
    q_model = sum(_seconds(w, consts) for w in q_works)
    mc_q = sum(w.flops for w in q_works if w.kind == "mc")
    mc_p = sum(w.flops for w in works if w.kind == "mc")
    overhead = max(0.0, (q_meas or 0.0) - q_model)
    if mc_q > 0 and q_meas is not None:  # Monte-Carlo tables: the quick time scaled by the count ratio
        cost.overhead_s = 0.0
        t1 = q_meas * (mc_p / mc_q)
    else:
        cost.overhead_s = overhead
        t1 = sum(_seconds(w, consts) for w in works) + overhead
    cost.cpu_1core_s = t1
    par = [(_seconds(w, consts), w.cells) for w in works if w.kind != "mc"]
    spread = sum(t / max(1, min(cores, c)) for t, c in par)
    cost.cpu_all_s = t1 - sum(t for t, _ in par) + spread
    gpu_fixed = min(cost.overhead_s, 5.0) if par else t1  # imports/data/theory; mc tables stay on the CPU
    cost.gpu_s = sum(_seconds(w, K.GPU) for w in works if w.kind != "mc") + gpu_fixed
    if cid in SHARED:
        cost.note = f"reads {SHARED[cid]}'s computation in a run of both"
    if not cfg:
        cost.note = "no sizes in a profile: the paper profile equals the quick one"
        cost.cpu_1core_s = cost.cpu_all_s = q_meas or 0.0
        cost.gpu_s = q_meas or 0.0
    return cost


def plan_claims(claims: Iterable[str] | None = None, papers: Iterable[str] | None = None,
                profile: str = "paper", cores: int | None = None) -> list[ClaimCost]:  # fmt: skip
    ids = [c for c in CLAIMS if (not claims or c in set(claims)) and (not papers or c[0] in set(papers))]
    return [estimate(c, profile, cores=cores) for c in ids]


def human(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def _bytes(b: float) -> str:
    for unit, s in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= s:
            return f"{b / s:.1f} {unit}"
    return f"{b:.0f} B"


def table_rows(costs: list[ClaimCost]) -> list[tuple]:
    return [(c.claim, c.dominant, f"{c.flops:.2g}", _bytes(c.peak_bytes), human(c.cpu_1core_s), human(c.cpu_all_s),
             human(c.gpu_s), c.note) for c in costs]  # fmt: skip


def warn_if_long(claims: Iterable[str] | None, papers: Iterable[str] | None, profile: str, *, stream=None,
                 threshold_s: float = HOURS_WARNING_S) -> float:  # fmt: skip
    """Print a warning naming the dominating claims when the estimated one-core time exceeds ``threshold_s``;
    returns the estimate (seconds)."""
    import sys

    stream = stream or sys.stderr
    costs = plan_claims(claims, papers, profile)
    total = sum(c.cpu_1core_s for c in costs)
    if total > threshold_s:
        top = sorted(costs, key=lambda c: -c.cpu_1core_s)[:5]
        share = ", ".join(f"{c.claim} {human(c.cpu_1core_s)}" for c in top)
        print(f"rcbench: warning: this run is estimated at {human(total)} on one CPU core "
              f"({human(sum(c.cpu_all_s for c in costs))} on all cores); dominated by {share} "
              f"(`rcbench plan --profile {profile}` for the table; a GPU: `--device cuda`)", file=stream)  # fmt: skip
    return total


# ---------------------------------------------------------------------------------------------------------------
def register(subparsers):
    p = subparsers.add_parser("plan", help="the estimated cost of each claim's configuration, before running it",
                              description=__doc__.split("\n\n")[0])  # fmt: skip
    p.add_argument("--profile", choices=["quick", "paper"], default="paper")
    p.add_argument("--claim", help="comma-separated claim ids")
    p.add_argument("--paper", help="comma-separated paper letters")
    p.add_argument("--cores", type=int, help="cores for the all-cores column (default: this machine's)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plan)
    return p


def _split(v) -> list[str]:
    return [s.strip() for s in (v or "").split(",") if s.strip()]


def cmd_plan(args) -> int:
    import json
    import sys

    from tabulate import tabulate

    claims, papers = _split(args.claim), [p.upper() for p in _split(args.paper)]
    bad = [c for c in claims if c not in CLAIMS] + [p for p in papers if p not in "ABCD" or len(p) != 1]
    if bad:
        print(f"rcbench plan: unknown claim(s)/paper(s) {bad}; see `rcbench list`", file=sys.stderr)
        return 2
    if args.cores is not None and args.cores < 1:
        print("rcbench plan: --cores must be >= 1", file=sys.stderr)
        return 2
    costs = plan_claims(claims, papers, args.profile, args.cores)
    if args.json:
        print(json.dumps([c.as_dict() for c in costs], indent=1))
        return 0
    print(tabulate(table_rows(costs), headers=["claim", "dominant", "flops", "peak mem", "CPU 1 core", "CPU all cores",
                                               "1 GPU (assumed)", "note"], tablefmt="simple"))  # fmt: skip
    tot = sum(c.cpu_1core_s for c in costs)
    print(f"\n{len(costs)} claims ({args.profile} profile): {human(tot)} on one core, "
          f"{human(sum(c.cpu_all_s for c in costs))} on {args.cores or os.cpu_count()} cores, "
          f"{human(sum(c.gpu_s for c in costs))} on one GPU (assumed constants). Model: rcbench.cost.")  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = os.cpu_count() or 1
    if load > cores:  # measured: cells computed at load 10-20 on 2 cores took 3-20x the one-core estimate
        print(f"The estimates are one idle core's time; the load average is {load:.1f} on {cores} cores now, so expect "
              f"about {load / cores:.1f}x that wall time.")  # fmt: skip
    return 0


def _constants_fn() -> Callable:  # pragma: no cover - convenience for benchmarks/calibrate_cost.py
    return _seconds
