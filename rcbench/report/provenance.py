"""The documentation shipped with the package that the report shows: per-claim provenance, the findings and the
legend of tags (``rcbench/docs/``, Markdown, read with :mod:`importlib.resources`).

* ``docs/claims/<paper>.md`` — one file per paper: an introduction (citation, the authors' code, what of the paper
  was read, the layout conventions) and one ``## <claim id>`` section per claim (where in the paper, how the number
  was read off, what the authors' code does differently, what the test follows).
* ``docs/findings.md`` — one ``## <key>: <title>`` section per finding, with ``claims:`` and ``kind:`` lines, then
  a paragraph with the numbers.
* ``docs/legend.md`` — verdict marks, source tags ([P], [R], [F], [T], [I], [C], ...), T0–T6 and "note §x".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Finding", "claim_provenance", "paper_intro", "findings", "findings_for", "legend", "doc_path"]

_SECTION = re.compile(r"^## +(.+?)\s*$", re.M)


@dataclass(frozen=True)
class Finding:
    key: str
    title: str
    claims: tuple[str, ...]
    kind: str
    body: str

    @property
    def anchor(self) -> str:
        return "finding-" + self.key


def _read(*parts: str) -> str:
    try:
        return resources.files("rcbench").joinpath("docs", *parts).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return ""


def doc_path(letter: str) -> str:
    """Where a paper's provenance page lives in the package (for the report's references)."""
    return f"rcbench/docs/claims/{letter}.md"


@lru_cache(maxsize=8)
def _paper(letter: str) -> tuple[str, dict[str, str]]:
    text = _read("claims", f"{letter}.md")
    parts = _SECTION.split(text)
    intro = re.sub(r"^# .*\n", "", parts[0]).strip()
    sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return intro, sections


def paper_intro(letter: str) -> str:
    """The introduction of paper ``letter``'s provenance page (Markdown)."""
    return _paper(letter)[0]


def claim_provenance(claim_id: str) -> str:
    """The provenance section of ``claim_id`` (Markdown), or ``""``."""
    return _paper(claim_id[:1])[1].get(claim_id, "")


@lru_cache(maxsize=1)
def findings() -> tuple[Finding, ...]:
    """Every shipped finding, in file order."""
    parts = _SECTION.split(_read("findings.md"))
    out = []
    for i in range(1, len(parts) - 1, 2):
        key, _, title = parts[i].partition(":")
        meta, body = {}, []
        for line in parts[i + 1].strip().splitlines():
            m = re.match(r"^(claims|kind): *(.*)$", line)
            if m and not body:
                meta[m.group(1)] = m.group(2).strip()
            else:
                body.append(line)
        claims = tuple(c.strip() for c in meta.get("claims", key).split(",") if c.strip())
        title = title.strip()
        out.append(Finding(key.strip(), title[:1].upper() + title[1:], claims, meta.get("kind", ""), "\n".join(body).strip()))
    return tuple(out)


def findings_for(claim_id: str) -> list[Finding]:
    return [f for f in findings() if claim_id in f.claims]


def legend() -> str:
    """The legend page without its title (Markdown)."""
    return re.sub(r"^# .*\n", "", _read("legend.md")).strip()
