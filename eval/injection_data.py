"""Training and validation sentences for the instruction classifier
(eval/train_injection.py).

* Positives: sentences addressed to an assistant, generated from
  eval/injection_templates.py: a prefix naming the addressee (optional), a
  condition (optional), one or two actions, an emphasis, an end mark;
  sometimes hidden in brackets or an editor's note, or appended to a news
  clause. Scripts: Simplified, Traditional (OpenCC s2tw / s2twp / s2hk) and
  English.
* Negatives: the sentences of the CMRC 2018 and DRCD paragraphs (and the
  XQuAD paragraphs, Chinese and English) in ../shared/data/mrc, split with
  the project's sentence splitter, plus generated hard negatives (directives
  to people, AI products in the news, notices, corrections, quoted speech).

Splits: a template or slot value is ``train`` or ``val`` by its position
(every fifth entry is ``val``), MRC paragraphs by a hash of their text
(70% train, 20% val, 10% test). Everything is drawn from one
``random.Random(seed)``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import opencc  # noqa: E402

import injection_templates as tpl  # noqa: E402
from rag.ingest.chunking import sentence_spans  # noqa: E402

MRC_DIR = ROOT.parent / "shared" / "data" / "mrc"
MRC_FILES = ("cmrc2018_dev.json", "cmrc2018_trial.json", "DRCD_dev.json", "DRCD_test.json", "xquad_open.zh.json",
             "xquad_open.en.json")
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
_CONVERTERS = {name: opencc.OpenCC(name) for name in ("s2tw", "s2twp", "s2hk")}


@dataclass
class Example:
    """One sentence: ``label`` 1 (instruction) or 0, where it comes from
    (``kind``: family or data set) and its script."""

    text: str
    label: int
    kind: str
    script: str


def _alternatives(spec: str, part: str) -> list[str]:
    """The ``|``-separated alternatives of ``spec`` that belong to ``part``
    (every fifth one is ``val``; lists under five entries serve both)."""
    items = spec.split("|")
    if len(items) < 5:
        return items
    return [x for i, x in enumerate(items) if (i % 5 == 4) == (part == "val")]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _part_of(text: str) -> str:
    """train / val / test of an MRC paragraph (70/20/10 by a hash of its text)."""
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "val" if bucket in (7, 8) else "test" if bucket == 9 else "train"


def _en_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", paragraph) if s.strip()]


class Resources:
    """What the templates borrow from the MRC files: questions, short
    answers and opening clauses (per part), and the MRC sentences themselves."""

    def __init__(self, mrc_dir: Path = MRC_DIR):
        self.files = {name: sha256_file(Path(mrc_dir) / name) for name in MRC_FILES}
        self.questions = {"zh": {"train": [], "val": []}, "en": {"train": [], "val": []}}
        self.entities = {"train": [], "val": []}
        self.clauses = {"zh": {"train": [], "val": []}, "en": {"train": [], "val": []}}
        self.sentences: dict[str, list[Example]] = {"train": [], "val": [], "test": []}
        for name in MRC_FILES:
            data = json.loads((Path(mrc_dir) / name).read_text(encoding="utf-8"))
            lang = "en" if name.endswith(".en.json") else "zh"
            script = "en" if lang == "en" else "zh-Hant" if name.startswith("DRCD") else "zh-Hans"
            for article in data["data"]:
                for para in article["paragraphs"]:
                    context = para["context"]
                    part = _part_of(context)
                    use = "val" if part != "train" else "train"
                    for qa in para["qas"]:
                        self.questions[lang][use].append(qa["question"].strip().rstrip("？?"))
                        self.sentences[part].append(Example(qa["question"].strip(), 0, "mrc-question", script))
                        for ans in qa.get("answers", [])[:1]:
                            if lang == "zh" and _HAN.match(ans["text"]):
                                self.entities[use].append(ans["text"])
                    if lang == "zh":
                        pieces = [context[s:e].strip() for s, e in sentence_spans(context)]
                    else:  # the splitter keeps an English paragraph whole: give both forms
                        pieces = _en_sentences(context) + [context.strip()]
                    for piece in pieces:
                        if not piece:
                            continue
                        self.sentences[part].append(Example(piece, 0, "mrc:" + name.split("_")[0].split(".")[0], script))
                        clause = re.split(r"[，,；;。.]", piece)[0].strip()
                        if 6 <= len(clause) <= 60:
                            self.clauses[lang][use].append(clause)


class Generator:
    """Fills the templates of one ``part`` with ``random.Random(seed)``."""

    def __init__(self, resources: Resources, part: str, seed: int):
        self.res, self.part, self.rng = resources, part, random.Random(seed)
        self.slots = {
            "zh": {k: _alternatives(v, part) for k, v in tpl.ZH.items()},
            "en": {k: _alternatives(v, part) for k, v in tpl.EN.items()},
        }
        self.actions = {
            "zh": {k: _alternatives(v, part) for k, v in tpl.ZH_ACTIONS.items()},
            "en": {k: _alternatives(v, part) for k, v in tpl.EN_ACTIONS.items()},
        }
        self.negatives = {
            "zh": {k: _alternatives(v, part) for k, v in tpl.ZH_NEGATIVES.items()},
            "en": {k: _alternatives(v, part) for k, v in tpl.EN_NEGATIVES.items()},
        }
        self.wraps = {"zh": _alternatives(tpl.ZH_WRAP, part), "en": _alternatives(tpl.EN_WRAP, part)}
        self.ends = {"zh": tpl.ZH_END.split("|"), "en": tpl.EN_END.split("|")}

    # -- slot values
    def _figure(self, lang: str) -> str:
        r = self.rng
        n = r.choice([str(r.randint(1, 999)), str(r.randint(1000, 99999)), f"{r.uniform(0.1, 99.9):.1f}"])
        if lang == "en":
            return r.choice([f"{n} billion yuan", f"{n} million", f"${n} million", f"{n}%", f"{n} km", f"{n} people",
                             f"{r.randint(1990, 2040)}", f"No. {r.randint(1, 10)}", f"{n} units", f"HK${n} billion"])
        return r.choice([f"{n}亿元", f"{n}万元", f"{n}元", f"{n}亿美元", f"{n}万人", f"{n}公里", f"{n}%", f"{n}倍",
                         f"{n}个", f"{n}家", f"{r.randint(1990, 2040)}年", f"第{r.randint(1, 10)}名", f"{n}万吨",
                         f"约{n}亿元", f"{n}平方公里", r.choice(self.res.entities[self.part] or ["全国第一"])])

    def _value(self, name: str, lang: str) -> str:
        r, s = self.rng, self.slots[lang]
        if name in ("A", "A2"):
            return self._figure(lang)
        if name in ("N", "N2"):
            return str(r.randint(2, 99))
        if name == "ENT":
            if lang == "zh" and r.random() < 0.3 and self.res.entities[self.part]:
                return r.choice(self.res.entities[self.part])
            return r.choice(s["CITY"] + s["BRAND"]) + ("" if lang == "zh" else " ") + r.choice(s["ENTSUF"])
        if name == "T":
            ent, attr = self._value("ENT", lang), r.choice(s["ATTR"])
            return f"{ent}的{attr}" if lang == "zh" else r.choice([f"the {attr} of the {ent}", f"the {ent}'s {attr}"])
        if name == "Q":
            pool = self.res.questions[lang][self.part]
            if pool and r.random() < 0.5:
                return r.choice(pool)
            t = self._value("T", lang)
            return (t + r.choice(["是多少", "有多大", "是什么", "是哪一年", "是谁"]) if lang == "zh"
                    else r.choice([f"what {t} is", f"how big {t} is", f"about {t}"]))
        if name == "ORG":
            sep = "" if lang == "zh" else " "
            return r.choice(["", r.choice(s["CITY"]) + sep]) + r.choice(s["BRAND"]) + sep + r.choice(s["INDUSTRY"])
        if name in ("NAME", "NAME2"):
            return (r.choice(s["SURNAME"]) + r.choice(s["GIVEN"]) if lang == "zh"
                    else f"{r.choice(s['GIVEN'])} {r.choice(s['SURNAME'])}")
        if name == "DATE":
            m, d = r.randint(1, 12), r.randint(1, 28)
            if lang == "en":
                return r.choice([f"{['January', 'March', 'May', 'July', 'October', 'December'][m % 6]} {d}", f"{m}/{d}"])
            return r.choice([f"{r.randint(2018, 2030)}年{m}月{d}日", f"{m}月{d}日"])
        if name == "URL":
            word = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 9)))
            return f"{r.choice(['http', 'https'])}://{word}{r.choice(['.example.com', '.com', '.cn', '.net', '-news.io'])}/" \
                   + r.choice(["promo", "a", "info", "go", "2024/ai", ""])
        if name == "PHONE":
            return r.choice([f"400-{r.randint(100, 999)}-{r.randint(1000, 9999)}", f"1{r.randint(3000000000, 8999999999)}",
                             f"{r.randint(2000, 9999)} {r.randint(1000, 9999)}"])
        if name == "CLAIM":
            org, t = self._value("ORG", lang), self._value("T", lang)
            return r.choice([f"{org}是全国第一", f"{t}全国第一且遥遥领先", "本文数据最权威", f"{org}的产品最安全"] if lang == "zh"
                            else [f"{org} is the national leader", f"{t} is the largest in the world",
                                  "this article is the most reliable source"])
        if name == "NEWS":
            return r.choice(self.res.clauses[lang][self.part])
        if name == "ADDR":
            return r.choice(s["AIPRE"]) + r.choice(s["AI"])
        return r.choice(s[name])

    def fill(self, template: str, lang: str) -> str:
        out = template
        for _ in range(4):  # slots inside slot values (PREFIX holds {ADDR}, ...)
            new = re.sub(r"\{([A-Z0-9]+)\}", lambda m: self._value(m.group(1), lang), out)
            if new == out:
                break
            out = new
        return out

    # -- sentences
    def _script(self, text: str, lang: str) -> tuple[str, str]:
        if lang == "en":
            return text, "en"
        if self.rng.random() < 0.45:
            return _CONVERTERS[self.rng.choice(["s2tw", "s2tw", "s2twp", "s2hk"])].convert(text), "zh-Hant"
        return text, "zh-Hans"

    def _finish(self, body: str, lang: str) -> str:
        r = self.rng
        body = body.strip()
        if lang == "en" and body:
            body = body[0].upper() + body[1:]
        if r.random() < 0.15:
            body = r.choice(self.wraps[lang]).format(body)
        if r.random() < 0.1:  # behind a news clause
            body = r.choice(self.res.clauses[lang][self.part]) + ("，" if lang == "zh" else ", ") + body
        return body

    def positive(self, lang: str) -> Example:
        r, sep = self.rng, "" if lang == "zh" else " "
        families = list(self.actions[lang])
        family = r.choice(families)
        action = self.fill(r.choice(self.actions[lang][family]), lang)
        if r.random() < 0.25:  # a bare instruction: short ones must be caught too
            text, script = self._script(action + r.choice(self.ends[lang]), lang)
            return Example(text if lang == "zh" else text[0].upper() + text[1:], 1, family, script)
        if r.random() < 0.3:
            link = r.choice(["，", "，并", "，同时", "，然后", "，另外"] if lang == "zh" else [", and ", "; also ", ", then ", ". "])
            action += link + self.fill(r.choice(self.actions[lang][r.choice(families)]), lang)
        cond = self.fill(r.choice(self.slots[lang]["COND"]), lang) if r.random() < 0.4 else ""
        pre = self.fill(r.choice(self.slots[lang]["PREFIX"]), lang) if r.random() < 0.5 else ""
        tail = ""
        if r.random() < 0.2:
            tail = ("，" if lang == "zh" else ", ") + self.fill(r.choice(self.slots[lang]["IMPORT"]), lang)
        body = self._finish(f"{pre}{sep if pre else ''}{cond}{action}{tail}{r.choice(self.ends[lang])}", lang)
        if pre.startswith(("<!--", "(Editor")) and not body.endswith(("-->", ")")):
            body += " -->" if pre.startswith("<!--") else ")"
        text, script = self._script(body, lang)
        return Example(text, 1, family, script)

    def negative(self, lang: str) -> Example:
        r = self.rng
        family = r.choice(list(self.negatives[lang]))
        body = self.fill(r.choice(self.negatives[lang][family]), lang)
        if r.random() < 0.8 and not body.endswith(("？", "?", "）", ")", "”", "\"")):
            body += "。" if lang == "zh" else "."
        text, script = self._script(self._finish(body, lang), lang)
        return Example(text, 0, "hard:" + family, script)


def generated(resources: Resources, part: str, seed: int, n_pos: int, n_neg: int) -> list[Example]:
    """``n_pos`` positives and ``n_neg`` hard negatives of ``part``, 3/4 Chinese
    (Simplified or Traditional), 1/4 English, deduplicated."""
    g = Generator(resources, part, seed)
    out, seen = [], set()
    for n, make in ((n_pos, g.positive), (n_neg, g.negative)):
        made, tries = 0, 0
        while made < n and tries < 20 * n:
            tries += 1
            ex = make("en" if g.rng.random() < 0.25 else "zh")
            if ex.text not in seen:
                seen.add(ex.text)
                out.append(ex)
                made += 1
    return out
