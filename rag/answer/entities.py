"""Named things a question asks about that the corpus never mentions.

A question about 小米's robot, 浙江省's subsidies or "Nvidia's Blackwell
chip" cannot be answered from articles that never name 小米, 浙江 or
Nvidia, however well the reader likes a neighbouring sentence about another
company's robot. This module finds such names; rag.answer.answerability
refuses on them ("missing entity").

What counts as a name (the check must be precise: a paraphrased common word
absent from the corpus is no reason to refuse):

* a CC-CEDICT headword whose pinyin is capitalized: the dictionary's mark of
  a proper noun ([Xiao3 mi3] 小米 "Xiaomi", [Zhe4 jiang1] 浙江, against
  [na4 mi3] 纳米 "nanometer"), or such a headword followed by a place or
  organisation suffix (浙江省, 小米公司);
* a Latin-script word of two or more letters in a Chinese question
  (CyberOne, OPPO);
* in an English question, a name of rag/answer/data/aliases.tsv whose
  Chinese forms the corpus lacks (Xiaomi -> 小米), or a capitalized phrase none of whose words the
  corpus has, in any form (the word itself, a pinyin spelling of corpus
  characters, a CC-CEDICT translation found in the corpus), and one of
  whose words is recognisably a name: CC-CEDICT translates it only to
  proper nouns (France -> 法国) or it spells as pinyin (Xiaomi, Hangzhou);
  or a capitalized phrase with a word spelled in pinyin that the corpus
  lacks, whatever its other words find ("Suzhou Industrial Park").

Where: the articles of the passages retrieved for the question (a name the
whole corpus mentions, but not in the articles the answer would come from,
still means the answer is about something else), or the whole corpus.
What counts as mentioned: the word occurs in that text (Simplified,
whitespace removed, lower case), allowing one differing character in a name
of three or more characters (OCR: 洗漢迪 for 冼漢迪) and a place without its
suffix (浙江 for 浙江省).

    >>> names = CorpusNames(["广东省人工智能与机器人产业发展座谈会在广州召开，华为与腾讯出席。"])
    >>> names.missing("小米的CyberOne机器人有多少个自由度？")
    ['小米', 'CyberOne']
    >>> names.missing("华为在广东做了什么？")
    []
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rag.script import to_simplified

#: In an English capitalized phrase, a word spelled in pinyin that the articles lack makes the
#: phrase missing, whatever its other words find ("Suzhou Industrial Park": 工业, 园区).
#: Measured on the 848 dev items of 0.15.0 (docs/reader.md).
NAME_WORD_CHECK = True
#: Suffixes that make a name a place or an organisation (浙江省, 小米集团).
NAME_SUFFIXES = ("省", "市", "区", "县", "州", "公司", "集团", "科技", "大学", "银行")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_CAPITALISED = re.compile(r"\b([A-Z][A-Za-z]*(?:[ -][A-Z][A-Za-z]*)*)")
#: Latin words of a Chinese question that are not names (units, common acronyms the articles spell in Chinese).
_LATIN_COMMON = frozenset({"ai", "it", "ok", "vs", "app", "gdp", "cpu", "gpu", "ceo", "cto", "cfo", "ipo", "id", "pk"})


def _proper_parts(word: str, proper) -> list[str]:
    """The proper-noun parts (CC-CEDICT, ``proper``) of a word jieba kept whole
    (上海浦东新区 -> 上海, 浦东, 浦东新区; 苏州工业园区 -> 苏州): a compound of a
    name the articles lack and a common word is not itself a headword."""
    import jieba

    return [p for p in dict.fromkeys(jieba.lcut_for_search(word)) if p != word and len(p) >= 2 and p in proper]


def _normal(text: str) -> str:
    """Simplified, NFKC (full-width brackets and letters as ASCII), no whitespace, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", to_simplified(text))).lower()


@lru_cache(maxsize=1)
def proper_headwords() -> frozenset[str]:
    """Simplified CC-CEDICT headwords (two or more characters) whose pinyin
    is capitalized: the dictionary's proper nouns (names, places,
    organisations). Empty when the dictionary package is missing."""
    from rag.answer.crosslingual import _cedict_path

    path = _cedict_path()
    if path is None:
        return frozenset()
    line = re.compile(r"^\S+ (\S+) \[([A-Z][^\]]*)\]")
    out = set()
    for row in path.read_text(encoding="utf-8").splitlines():
        m = line.match(row)
        if m and len(m.group(1)) >= 2:
            out.add(m.group(1))
    return frozenset(out)


@lru_cache(maxsize=1)
def _gloss_headwords() -> dict[str, tuple[list[str], bool]]:
    """lower-case whole gloss -> (its headwords, whether all of them are proper nouns)."""
    from rag.answer.crosslingual import _cedict_glosses

    proper = proper_headwords()
    out = {}
    for gloss, hits in _cedict_glosses().items():
        heads = [h for _, h in hits if len(h) >= 2]
        if heads:
            out[gloss] = (heads, all(h in proper for h in heads))
    return out


class CorpusNames:
    """The corpus's articles, normalized for name look-ups.

    Args:
        texts: the articles' texts (any script), by document name (a list is
            numbered).
        expander: an optional rag.answer.crosslingual.EnglishExpander over the
            same texts (pinyin spellings of English names); built when needed.
    """

    def __init__(self, texts: dict[str, str] | list[str], expander=None):
        if not isinstance(texts, dict):
            texts = {str(i): t for i, t in enumerate(texts)}
        self.by_doc = {doc: _normal(t) for doc, t in texts.items()}
        self.text = "\n".join(self.by_doc.values())
        self._texts = list(texts.values())
        self._expander = expander

    @property
    def expander(self):
        if self._expander is None:
            from rag.answer.crosslingual import EnglishExpander
            from rag.text import tokenize

            vocab = set()
            for t in self._texts:
                vocab.update(tokenize(t))
            self._expander = EnglishExpander(self._texts, vocab)
        return self._expander

    def _scope(self, docs) -> str:
        return self.text if docs is None else "\n".join(self.by_doc.get(d, "") for d in docs)

    def mentions(self, term: str, docs=None) -> bool:
        """``term`` occurs in the articles ``docs`` (None: all): exactly, with
        one differing character when it has three or more (OCR), or without
        a place or organisation suffix."""
        text = self._scope(docs)
        t = _normal(term)
        if not t or t in text:
            return True
        if len(t) >= 3 and _HAN_RUN.fullmatch(t):
            if re.search("|".join(re.escape(t[:i]) + "." + re.escape(t[i + 1:]) for i in range(len(t))), text):
                return True
        if len(t) == 2 and _HAN_RUN.fullmatch(t) and t[::-1] in text:
            return True  # a pair of place abbreviations is written in either order (港深, 深港)
        stem = next((t[: -len(s)] for s in NAME_SUFFIXES if t.endswith(s) and len(t) - len(s) >= 2), None)
        return stem is not None and stem in text

    def missing(self, question: str, docs=None) -> list[str]:
        """The names of ``question`` that the articles ``docs`` (None: the
        whole corpus) never mention, in question order (English questions:
        :meth:`missing_english`)."""
        if len(re.findall(r"[A-Za-z]", question)) > len(re.findall(r"[\u3400-\u9fff]", question)):
            return self.missing_english(question, docs)  # English, perhaps with a Chinese name in brackets
        import jieba

        proper = proper_headwords()
        out: list[str] = []
        simplified = to_simplified(question)
        for word in jieba.lcut(simplified):
            if _LATIN.fullmatch(word):
                if word.lower() in _LATIN_COMMON:
                    continue
            elif not _HAN_RUN.fullmatch(word) or len(word) < 2:
                continue
            else:
                stem = next((word[: -len(s)] for s in NAME_SUFFIXES if word.endswith(s) and len(word) - len(s) >= 2), word)
                if word not in proper and stem not in proper and not any(
                        not self.mentions(part, docs) for part in _proper_parts(word, proper)):
                    continue
            if not self.mentions(word, docs) and word not in out:
                out.append(word)
        return out

    def missing_english(self, question: str, docs=None) -> list[str]:
        """Capitalized phrases of an English question that name something the
        articles ``docs`` (None: all) never mention (see the module docstring)."""
        from rag.answer.crosslingual import _EN_STOP, split_pinyin

        from rag.answer.crosslingual import english_aliases

        glosses = _gloss_headwords()
        text = self._scope(docs)
        out: list[str] = []
        for pattern, name, chinese in english_aliases():  # names with a known Chinese form
            if pattern.search(question):
                if not any(_normal(c) in text for c in chinese) and name not in out:
                    out.append(name)
                question = pattern.sub(" ", question)
        for m in _CAPITALISED.finditer(question):
            words = [w for w in re.split(r"[ -]", m.group(1)) if w and w.lower() not in _EN_STOP]
            if not words or (m.start() == 0 and len(words) == 1):
                continue  # a sentence's first word is capitalized anyway
            if re.match(r"\s*[（(][^)）]*[\u3400-\u9fff]", question[m.end():]):
                continue  # "SmartMore (思謀科技)": the question gives the Chinese name
            if any(_normal(n) in text for n in self.expander.names(m.group(1))):
                continue  # the whole phrase spells a corpus name (Huang Bufu -> 黄卜夫; "Bufu" alone spells 部副)
            recognised = False
            known = False
            for w in words:
                lw = w.lower()
                heads, all_proper = glosses.get(lw, ([], False))
                spelled = self.expander.names(w) if len(w) >= 4 else []
                if lw in text or any(h in text for h in heads) or any(to_simplified(n) in text for n in spelled):
                    known = True
                    continue
                sylls = split_pinyin(w)
                # "Orange" spells o-ran-ge, but is an English word
                pinyin = bool(sylls) and len(sylls) >= 2 and len(w) >= 4 and not w.isupper() and lw not in glosses
                if (heads and all_proper) or pinyin:
                    recognised = True
                    # "Suzhou Industrial Park": Suzhou is missing whatever "Park" finds; a word of
                    # one-letter syllables (nan-o) or one that spells several corpus strings is no sign
                    if NAME_WORD_CHECK and pinyin and all(len(y) >= 2 for y in sylls) and not self.expander.spells(w):
                        known = False
                        break
            if not known and recognised and m.group(1) not in out:
                out.append(m.group(1))
        return out
