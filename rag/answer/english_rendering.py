"""English renderings of short Chinese answer spans, with no model: amounts
with units (in Arabic or Chinese numerals: "千億級" -> "100 billion level"), dates, person names in pinyin (pypinyin), and CC-CEDICT glosses
when every word has one (rag.answer.crosslingual reads the dictionary). English
questions get the Chinese span plus this rendering; the Chinese span stays
the cited text.

    >>> from rag.answer.english_rendering import english_rendering
    >>> english_rendering("1000亿元")
    '100 billion yuan'
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.answer.crosslingual import is_sense, read_cedict
from rag.script import to_simplified

_UNIT_SCALE = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3, "百": 10**2}
_CURRENCY = {"元": "yuan", "人民币": "yuan", "美元": "US dollars", "港元": "HK dollars", "港币": "HK dollars"}
_MEASURE = {"人": "people", "名": "people", "位": "people", "家": "", "个": "", "项": "items", "倍": "times",
            "年": "years", "天": "days", "小时": "hours", "分钟": "minutes", "平方米": "square metres",
            "平方公里": "square kilometres", "公里": "km", "米": "metres", "台": "units", "款": "models",
            "吨": "tonnes", "%": "percent", "岁": "years old", "届": "editions", "次": "times", "个月": "months",
            "月": "months", "周": "weeks", "种": "kinds"}
_MONTHS = ("January February March April May June July August September October November December").split()
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([多余])?\s*(万亿|亿|万|千|百)?\s*(元|人民币|美元|港元|港币|平方公里|平方米|公里|小时|分钟"
                     r"|人|名|位|家|个月|个|项|倍|年|天|周|米|台|款|吨|%|岁|届|次)?$")
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


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_AMOUNT = re.compile(r"^(近|约|超过|逾)?([零〇一二两三四五六七八九十百千万亿]+)([多余])?(级)?\s*(元|人民币|美元|港元|港币|人|名|位|家|个|项|倍"
                        r"|年|天|台|款|吨|岁|届|次)?$")
_CN_APPROX = {"近": "nearly ", "约": "about ", "超过": "over ", "逾": "over "}
_RANGE = re.compile(r"^(\d+)\s*[-至到~—–]\s*(\d+)\s*(个月|个|家|项|名|人|位|种|次|年|天|周|小时|月)?$")


def chinese_number(numeral: str) -> int | None:
    """The value of a Chinese numeral ("十七" -> 17, "千亿" -> 100000000000,
    "两千三百" -> 2300); None when it is not one. (The standard section
    reading: 十/百/千 inside a section, 万/亿 close one. cn2an, the registry's
    converter, rejects a magnitude without a leading digit, 千亿 or 百 as in
    千億級 and 近百人, which is what answer spans hold.)"""
    total, section, digit = 0, 0, None
    for ch in numeral:
        if ch in _CN_DIGITS:
            if digit is not None:
                return None  # "二三": not a numeral
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch in ("万", "亿"):
            scale = 10**4 if ch == "万" else 10**8
            section += digit or 0
            total = ((total + section) or 1) * scale if ch == "亿" else total + (section or 1) * scale
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _render_chinese_amount(text: str) -> str | None:
    """"千亿级" -> "100 billion level", "近百人" -> "nearly 100 people",
    "3-5个" -> "3 to 5"."""
    m = _RANGE.match(text)
    if m:
        noun = _MEASURE.get(m.group(3) or "", "")
        return f"{m.group(1)} to {m.group(2)} {noun}".strip()
    m = _CN_AMOUNT.match(text)
    if not m:
        return None
    lead, numeral, approx, level, unit = m.groups()
    value = chinese_number(numeral)
    if value is None or not (lead or approx or level or unit or value >= 100):
        return None
    words = _CN_APPROX.get(lead or "", "") + ("over " if approx else "") + _number_words(value)
    if level:
        return f"{words} level"
    if unit in _CURRENCY:
        return f"{words} {_CURRENCY[unit]}"
    return f"{words} {_MEASURE.get(unit or '', '')}".strip()


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


#: Longer spans are not glossed word by word: a compound's first glosses read as nonsense
#: ("共享算力中心" -> "share hash rate center", "技术攻关" -> "technology storm a strategic pass");
#: the Chinese span alone is shown. On the 948 dev items of 0.16.0 no answer's correctness changed.
MAX_GLOSSED_WORDS = 1


@lru_cache(maxsize=1)
def _first_glosses() -> dict[str, str]:
    """Simplified headword -> its first translating CC-CEDICT gloss (words of
    two or more characters and single characters alike). About 120k short
    strings, built on the first English answer that needs one."""
    out: dict[str, str] = {}
    for simplified, glosses in read_cedict():
        if simplified not in out:
            sense = next((g for g in glosses if is_sense(g)), None)
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
    it has at most MAX_GLOSSED_WORDS and every word of two or more characters
    has one ("智库" -> "think tank"). None when no rule covers the span (it is
    then shown in Chinese only). Cached: the answer's lead and ``Answer.short_answer`` render the
    same span."""
    import jieba.posseg as pseg

    text = to_simplified(span).strip().rstrip("，。；、,;:：")
    if not text or not re.search(r"[\u4e00-\u9fff]", text):
        return None  # nothing Chinese to render ("500P", "Atlas 900")
    for rule in (_render_date, _render_amount, _render_chinese_amount):  # "2018年" is a year, "30年" thirty years
        rendered = rule(text.replace(",", ""))
        if rendered:
            return rendered
    words = [(w, f) for w, f in pseg.lcut(text) if w.strip()]
    glosses = _first_glosses()
    if (len(words) == 1 and words[0][1] == "nr" and 2 <= len(text) <= 4) or (
            re.fullmatch(r"[\u4e00-\u9fff]{2,3}", text) and text[0] in _SURNAMES and text not in glosses
            and (len(text) == 3 or any(f.startswith("nr") for _, f in words))):
        return _pinyin_name(text)
    out, glossed = [], 0
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
        elif w in glosses and len(w) >= 2:  # a lone character's first gloss is a guess: 至 "arrive", 月 "moon"
            glossed += 1
            if glossed > MAX_GLOSSED_WORDS:
                return None
            out.append(" ".join(re.split(r"[,;]", glosses[w])[0].split()[:6]))
        else:
            amount = _render_amount(w) or _render_date(w)
            if not amount:
                return None
            out.append(amount)
    return " ".join(out).replace(" ,", ",") or None
