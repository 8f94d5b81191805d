"""What unit or kind of figure a question asks for, and whether a span gives it: an age, a
duration, a length, computing power, an area, a storage size, a sum or a time of day
(:func:`asked_dimension`); a count that asks no sum (:func:`asks_count`) and a span whose only
figures are sums (:func:`states_only_sums`). Read by rag.answer.shapes.restated_best; no model.
"""

from __future__ import annotations

import re

from rag.answer.lexical import NUMBER, asks_money

#: What an age, a duration, a length or computing power is stated in: a question asking one ("他今年多大年纪？",
#: "開了幾個鐘頭？", "How many years will that fund run for?", "how wide should the corridor
#: be?") is not answered by a span without its unit ("20余年" is no age, "5亿元" no duration).
#: Measured on the 948 dev items of 0.16.0 (docs/reader.md).
_TIME_UNIT = r"年|个月|月|周|天|日|小时|钟头|分钟"
_LENGTH_UNIT = r"米|公里|千米|km"
# _COUNT, widened for how units are written: "1,000 P", "半小时", "20+年"
_DIMENSION_FIGURE = r"(?:\d[\d.,]*|[一二三四五六七八九十百千万亿两半]+)[多余+]?\s*"
_HOW_LONG = r"\bhow long (?:is|are|was|were|would|will|should) (?:the|that|this|it|they)\b"
_ASKED_DIMENSION = [
    (re.compile(r"多大年[纪龄]|多少岁|几岁|\bhow old\b|\bat what age\b", re.I), r"岁"),
    (re.compile(r"(?:几|多少)个?(?:钟头|小时)|\bhow many (?:hours|minutes)\b", re.I), r"小时|钟头|分钟"),
    (re.compile(r"\bhow many years\b|(?<!哪)(?:多少|几)年(?![级前代])", re.I), r"年"),
    (re.compile(r"多宽|多远|\bhow (?:wide|far)\b|\bwhat (?:width|distance)\b", re.I), _LENGTH_UNIT),
    # computing power is stated in P, Pops, FLOPS (500P, 1000Pops); a ratio (16倍) answers "几倍" only
    (re.compile(r"(?:算力|计算能力)(?:规模)?(?:是|有|会是|将是|能|能达到|最少能达到|达到|要有|提升到)?多[少大]"
                r"|多[少大][^，。？?\d]{0,6}(?:算力|计算能力)"
                r"|\b(?:how much|what) (?:[a-z-]+ ){0,4}comput(?:ing|e) (?:power|capacity)\b", re.I),
     r"(?:P|Pops|PFlops|EFlops|Flops|TOPS)(?![a-z])"),
    # "How long would that corridor be?" asks a length; "how long does approval take", a time
    (re.compile(_HOW_LONG + r"(?!.*\b(?:take|took|last|period|term|phase|stage|programme|program|trial|process|wait"
                r"|approval|stay|meeting|forum|conference|years?|months?|weeks?|days?|hours?)\b)", re.I), _LENGTH_UNIT),
    (re.compile(r"多长(?!时间)|" + _HOW_LONG, re.I), _LENGTH_UNIT + "|" + _TIME_UNIT),
    # an area, a storage size, a sum: "How much land do they cover?" is not answered by 1000万元,
    # "每年会奖励多少钱？" not by 1:1 (measured on the 1,230 dev items of 0.17.0, docs/reader.md)
    (re.compile(r"面积|占地|多大的?(?:土地|地方|地块)|\bhow much (?:land|space|floor space)\b|\b(?:what|how large an?|how big an?)"
                r" (?:land )?area\b|\bsquare (?:met|kilomet)", re.I), r"[万千百]?(?:平方(?:公里|千米|米)|亩|公顷)|㎡|km2|km²"),
    (re.compile(r"(?:多少|多大|几)[^，。？?]{0,4}存储|存储(?:容量|空间)?(?:是|有|达到)?多[少大]|\bhow much (?:[a-z-]+ ){0,2}storage\b"
                r"|\bstorage capacity\b", re.I), r"[PTGEZ]B(?![a-z])|字节|bytes?\b"),
    (re.compile(r"多少钱|(?:资金|经费|投资|出资|资助|补贴|奖励|奖金|拨款|融资|预算)[^，。？?\d]{0,6}(?:多少|几多|多大)(?![个家项名位条次倍])"
                r"|\bhow much (?:money|funding|cash|subsid[a-z]*|investment|prize money)\b|\bhow many yuan\b", re.I),
     r"[万亿千百]*(?:元|美元|港元|港币|美金)|\s?yuan\b"),
]
#: An asked time of day ("What time of day did it start?", "几点开始？") is answered by a clock
#: time or a part of the day, with or without a figure.
_ASKS_CLOCK = re.compile(r"几点|\bwhat time of (?:the )?day\b|\bat what time\b", re.I)
_CLOCK = r"\d{1,2}[:：]\d{2}|[\d一二三四五六七八九十两]+[点时](?:半|\d+分?)?|上午|下午|中午|早上|晚上|凌晨|傍晚|\b[ap]\.?m\b"


def asked_dimension(question_simplified: str) -> re.Pattern | None:
    """A figure in the unit of the age, duration in hours or years, length or
    computing power the question asks ("几岁" -> "58岁"; "多长" -> a length or a
    time; "What computing capacity …" -> "500P"), or None.

    >>> asked_dimension("他今年多大年纪？").search("20余年") is None
    True
    >>> bool(asked_dimension("How long would that corridor be?").search("3公里"))
    True
    >>> asked_dimension("How long would that corridor be?").search("1至2个月") is None
    True
    >>> asked_dimension("What computing capacity does phase one have?").search("一期工程算力500P（FP16）").group()
    '500P'
    """
    if _ASKS_CLOCK.search(question_simplified):
        return re.compile(_CLOCK, re.I)
    return next((re.compile(_DIMENSION_FIGURE + "(?:" + unit + ")") for cue, unit in _ASKED_DIMENSION
                 if cue.search(question_simplified)), None)


#: A count ("多少个", "几家", "How many …?") that asks no sum: a span stating only a sum ("每年会支持多少个？"
#: answered 800万元) is no count (measured with asked_dimension's sums, docs/reader.md).
_ASKS_COUNT = re.compile(r"多少(?:个|家|项|名|位|条|所|座|部|批|款|种|类)|几(?:个|家|项|名|位|条|所|座|部|批|款|种|类)|\bhow many\b(?! yuan)", re.I)


def asks_count(question_simplified: str) -> bool:
    """Whether the question asks a count and not a sum of money.

    >>> asks_count("每年会支持多少个？"), asks_count("每个最高资助多少？"), asks_count("How many yuan?")
    (True, False, False)
    """
    return bool(_ASKS_COUNT.search(question_simplified)) and not asks_money(question_simplified)


_SUM = re.compile(r"(?:最高|约|近|超过|逾)?(?:\d[\d.,]*|[一二三四五六七八九十百千万亿两]+)\s*[多余]?[万亿千百]*(?:元|美元|港元|港币)|HK\$\s?[\d.,]+|\$\s?[\d.,]+")


def states_only_sums(text_simplified: str) -> bool:
    """Whether every figure of the text is a sum of money ("最高800万元"; not "3家企业获5亿元").

    >>> states_only_sums("每个给予最高800万元资助"), states_only_sums("3家企业获5亿元"), states_only_sums("3家")
    (True, False, False)
    """
    return bool(_SUM.search(text_simplified)) and not NUMBER.search(_SUM.sub(" ", text_simplified))
