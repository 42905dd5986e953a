"""Rendered text for the report: Markdown (markdown-it-py, CommonMark + tables) with the docstrings' plain-text math
turned into readable Unicode / HTML, with no MathJax (the report must work offline, as one file).

The claims' docstrings, statements and reasons are written in plain text with a little Markdown and reST: ``code``
(double or single backticks), ``**bold**``, ``:func:`name``` roles, bullet lists; math is ASCII (``d^{-1/2}``,
``H_{l+1}``, ``(1 - tau)^2``, ``sqrt(d)``, ``<=``, ``+-``, ``||H||_F``, ``beta_sigma``). :func:`to_html` renders them:

* outside code: Greek letter names become letters (``beta_sigma`` -> β_σ, ``tau`` -> τ), ``sqrt(d)`` -> √d,
  ``<= >= != +- <~ ->`` -> ``≤ ≥ ≠ ± ≲ →``, ``||`` -> ‖, a Python power ``x**2`` -> x², ``inf`` -> ∞;
* everywhere (code spans too): ``x^{...}`` / ``x^2`` -> superscript, ``x_{...}`` -> subscript (and ``x_1``, ``H_l``
  outside code), with ``-`` in exponents as a real minus sign;
* then Markdown, with raw HTML in the source escaped (``html=False``).

Super/subscripts are carried through the Markdown parser as private-use placeholder characters and turned into
``<sup>``/``<sub>`` afterwards, so the parser's emphasis rules never see the ``_`` or ``^`` of math.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt

__all__ = ["to_html", "to_inline_html", "to_text", "prose", "UNRENDERED"]

_SUP, _SUP_END, _SUB, _SUB_END = "\ue000", "\ue001", "\ue002", "\ue003"
#: patterns that must not survive rendering (tested on the report): Markdown bold, backtick code, TeX exponents.
UNRENDERED = ("**", "`", "^{", "_{")

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "theta": "θ", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Omega": "Ω", "Psi": "Ψ", "Sigma": "Σ", "Phi": "Φ",
}  # fmt: skip
_GREEK_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(_GREEK, key=len, reverse=True)) + r")(?![A-Za-z])")
_ROLE_RE = re.compile(r":(?:func|class|mod|data|meth|attr|obj|py:\w+):(?=`)")
_CODE_RE = re.compile(r"(`+)(.+?)\1", re.S)
_OPS = [("<=", "≤"), (">=", "≥"), ("!=", "≠"), ("+-", "±"), ("<~", "≲"), ("->", "→"), ("||", "‖")]
_LETTER = r"[^\W\d_]"


def _exp(text: str) -> str:
    """The body of a super/subscript: real minus signs."""
    return text.replace("-", "−")


def _braces(s: str, code: bool) -> str:
    s = re.sub(r"\^\{([^{}]*)\}", lambda m: _SUP + _exp(m.group(1)) + _SUP_END, s)
    s = re.sub(r"_\{([^{}]*)\}", lambda m: _SUB + _exp(m.group(1)) + _SUB_END, s)
    s = re.sub(r"(?<=[\w)\]])\*\*(?=[\w(-])", "^", s)  # a Python power inside code or prose
    if code:
        s = re.sub(r"\^(-?[A-Za-z0-9]+(?:\.[0-9]+)?)", lambda m: _SUP + _exp(m.group(1)) + _SUP_END, s)
    return s


_IDENT_RE = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+){2,}(?![\w])")


def prose(s: str) -> str:
    """The plain-text math of prose (outside code) as Unicode, with super/subscript placeholders. Identifiers with two
    or more underscores (``test_a5_fig3a_rank_tau``, ``gamma_vs_theory``) are names, not math, and stay as written."""
    names: list[str] = []

    def keep(m):
        names.append(m.group(0))
        return f"\ue020{len(names) - 1}\ue021"

    s = _IDENT_RE.sub(keep, s)
    s = _prose(s)
    return re.sub("\ue020(\\d+)\ue021", lambda m: names[int(m.group(1))], s)


def _prose(s: str) -> str:
    s = s.replace("**", "\ue010")  # Markdown bold keeps its asterisks through the operator rules
    s = re.sub(r"(?<=[\w)\]])\ue010(?=[\w(-])", "^", s)  # ... except a Python power x**2
    s = s.replace("\ue010", "**")
    for a, b in _OPS:
        s = s.replace(a, b)
    s = _GREEK_RE.sub(lambda m: _GREEK[m.group(1)], s)
    s = re.sub(r"sqrt\(([\w.]+)\)", r"√\1", s)
    s = re.sub(r"sqrt\(", "√(", s)
    s = re.sub(r"sqrt ?(?=[\w(])", "√", s)
    s = re.sub(r"(?<![\w.])([+-]?)inf(?![\w])", lambda m: m.group(1) + "∞", s)
    s = _braces(s, code=False)
    s = re.sub(r"\^(?:\(([^()]*)\)|([-−+]?[^\W_]+(?:\.[0-9]+)?))",
               lambda m: _SUP + _exp(m.group(1) or m.group(2)) + _SUP_END, s)  # fmt: skip
    s = re.sub(r"(?<=[\w)]) x (?=[\w(])", " × ", s)
    s = re.sub(rf"(?<={_LETTER}|[‖)])_([0-9A-Za-z]|{_LETTER})(?![\w.])",
               lambda m: _SUB + m.group(1) + _SUB_END, s)  # fmt: skip
    return s


def _prepare(text: str) -> str:
    text = _ROLE_RE.sub("", str(text))
    out, pos = [], 0
    for m in _CODE_RE.finditer(text):
        out.append(prose(text[pos : m.start()]))
        fence, body = m.group(1), _braces(m.group(2), code=True)
        pad = " " if body.startswith("`") or body.endswith("`") else ""
        out.append(f"{fence}{pad}{body}{pad}{fence}")
        pos = m.end()
    out.append(prose(text[pos:]))
    return "".join(out)


def _finish(html: str) -> str:
    return html.replace(_SUP, "<sup>").replace(_SUP_END, "</sup>").replace(_SUB, "<sub>").replace(_SUB_END, "</sub>")


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


_ITEM_RE = re.compile(r"^(\s*)([-+*]|\d+[.)])( +)")


def _unwrap_markers(text: str) -> str:
    """A docstring line wrapped so that it starts with ``+ ``, ``- `` or ``1. `` inside a paragraph is text, not a
    list item (CommonMark would start a list there): escape its marker unless the paragraph introduces a list (the
    previous line ends with ``:``) or is itself a list item."""
    out, prev, in_list = [], "", False
    for line in text.split("\n"):
        m = _ITEM_RE.match(line)
        if not line.strip():
            in_list = False
        elif m:
            if prev.strip() and not in_list and not prev.rstrip().endswith(":") and not prev.lstrip().startswith("#"):
                mark = m.group(2)
                mark = mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark
                line = m.group(1) + mark + m.group(3) + line[m.end():]
            else:
                in_list = True
        out.append(line)
        prev = line
    return "\n".join(out)


@lru_cache(maxsize=4096)
def to_html(text: str) -> str:
    """Block Markdown (paragraphs, lists, tables) with readable math -> HTML."""
    if not text:
        return ""
    return _finish(_md().render(_prepare(_unwrap_markers(text))))


@lru_cache(maxsize=8192)
def to_inline_html(text) -> str:
    """One line of Markdown with readable math -> inline HTML (no ``<p>``)."""
    if text is None or text == "":
        return ""
    return _finish(_md().renderInline(_prepare(str(text)).replace("\n", " ")))


def to_text(text) -> str:
    """Readable plain text (for ``report.md`` cells, captions, alt text): math as Unicode, code marks kept."""
    s = _ROLE_RE.sub("", str(text or ""))
    out, pos = [], 0
    for m in _CODE_RE.finditer(s):
        out.append(prose(s[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(prose(s[pos:]))
    s = "".join(out)
    s = re.sub(f"{_SUP}(.*?){_SUP_END}", lambda m: "^" + (m.group(1) if len(m.group(1)) == 1 else f"({m.group(1)})"), s)
    return re.sub(f"{_SUB}(.*?){_SUB_END}", lambda m: "_" + (m.group(1) if len(m.group(1)) == 1 else f"({m.group(1)})"), s)
