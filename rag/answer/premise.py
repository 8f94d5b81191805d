"""Questions whose premise the retrieved text does not state.

"為甚麼改由華為擔任理事長單位？" presupposes a change (改由) that no article
reports; a reader asked it still finds a plausible span (the alliance's
chair) and answers. A *why* question, or one built on a change-of-state
predicate (cancel, replace, withdraw, postpone …), presupposes the event
its predicate names: the question is refused ("unsupported premise") when
that predicate occurs nowhere in the passages retrieved for it.

The predicate is read with jieba's part-of-speech tags (verbs: ``v``,
``vd``, ``vn``) for Chinese questions, and through CC-CEDICT for English
ones (a verb whose dictionary translations all miss the passages). Light
verbs (是, 有, 进行 …) say nothing about an event and are skipped.

    >>> unsupported_premise("为什么联盟改由华为担任理事长单位？", ["联盟由优必选担任理事长单位。"])
    ['改由']
    >>> unsupported_premise("联盟的理事长单位是哪家？", ["联盟由优必选担任理事长单位。"])
    []

A question that states a figure of two or more digits (a year, an amount:
"2030年", "50 billion") also presupposes it: when no retrieved passage
states it (digits compared, thousands separators ignored), the premise is
unsupported (:func:`unstated_figures`).

    >>> unstated_figures("深圳为何把基金群从1000亿元缩减到500亿元？", ["形成规模1000亿元的人工智能基金群"])
    ['500']
"""

from __future__ import annotations

import re

from rag.script import to_simplified

#: Question words that presuppose the event they ask about (why / how come).
WHY_ZH = re.compile(r"为什么|为何|为啥|怎么会|何以|缘何")
WHY_EN = re.compile(r"\b(why|how come)\b", re.I)
#: Change-of-state predicates: a question built on one presupposes the change
#: even without "why" ("…是哪一年被撤销的？").
CHANGE_ZH = ("取消", "撤销", "撤回", "改由", "改为", "改名", "更名", "停止", "暂停", "终止", "退出", "推迟", "延期", "搁置",
             "倒闭", "破产", "收购", "并购", "辞职", "辞任", "卸任", "下台", "解散", "关闭", "叫停", "放弃", "否决", "拒绝",
             "失败", "罢免", "开除", "被捕", "迁往", "迁至", "搬迁", "搬到", "迁到", "改到", "换成", "撤出")
CHANGE_EN = ("cancel", "scrap", "withdraw", "replac", "postpon", "delay", "suspend", "halt", "abandon", "shut",
             "close", "resign", "quit", "fire", "acquir", "bankrupt", "fail", "dissolv", "relocat", "move", "reject",
             "switch", "drop", "stop", "ban", "pull")
#: Verbs that carry no event of their own.
LIGHT_VERBS = frozenset("是 有 为 做 进行 开展 表示 认为 提到 提出 说 称 指出 包括 成为 担任 属于 需要 能够 可以 可能 会 要 让 使 "
                        "给 用 在 到 来 去 看 发展 推动 加快 实现 建设 打造 支持 举行 召开 主持 参加 出席 发布 提供 获得".split())


def _chinese_predicates(question: str) -> list[str]:
    import jieba.posseg as pseg

    words = pseg.lcut(to_simplified(question))
    why = bool(WHY_ZH.search(to_simplified(question)))
    out = []
    for w, flag in words:
        if len(w) < 2 or w in LIGHT_VERBS or WHY_ZH.fullmatch(w):
            continue
        if w in CHANGE_ZH or any(w.startswith(c) for c in CHANGE_ZH) or (why and flag in ("v", "vd", "vn")):
            out.append(w)
    return out


def _english_predicates(question: str) -> list[tuple[str, list[str]]]:
    """(verb, its CC-CEDICT Chinese headwords) for the event verbs of an English question."""
    from rag.answer.crosslingual import _cedict_glosses, _stemmer

    glosses = _cedict_glosses()
    stem = _stemmer()
    why = bool(WHY_EN.search(question))
    out = []
    for word in re.findall(r"[A-Za-z]+", question):
        lw = word.lower()
        base = stem(lw)
        if not (any(base.startswith(c) or lw.startswith(c) for c in CHANGE_EN) or (why and lw.endswith("ed"))):
            continue
        forms = {lw, base, lw[:-1] if lw.endswith("d") else lw, lw[:-2] if lw.endswith("ed") else lw}
        heads = [h for f in forms for g in (f, "to " + f) for _, h in glosses.get(g, []) if len(h) >= 2]
        if heads:
            out.append((word, list(dict.fromkeys(heads))))
    return out


def unsupported_premise(question: str, passages: list[str]) -> list[str]:
    """The predicates of a why- or change-of-state question that none of
    ``passages`` (any script) states; [] for other questions or when every
    predicate is attested. Chinese predicates must occur verbatim
    (Simplified); an English verb needs one of its CC-CEDICT translations."""
    text = re.sub(r"\s+", "", to_simplified("".join(passages)))
    if re.search(r"[\u3400-\u9fff]", question) and len(re.findall(r"[\u3400-\u9fff]", question)) >= len(
            re.findall(r"[A-Za-z]", question)):
        return [w for w in _chinese_predicates(question) if w not in text]
    return [w for w, heads in _english_predicates(question) if not any(h in text for h in heads)]


#: A figure the question states: two or more digits, with decimals or thousands separators.
FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
#: A one-digit figure with a magnitude or ratio unit (1亿, 5倍, 3万). With the
#: relocation verbs added to CHANGE_ZH / CHANGE_EN in 0.12.0 (搬到 … "pull"),
#: measured on the 448 dev items of 0.12.0: 4 more unanswerable questions
#: refused, no answerable one (docs/reader.md).
MAGNITUDE = re.compile(r"(?<![\d.])\d(?:亿|万|千|百|倍)")


def unstated_figures(question: str, passages: list[str]) -> list[str]:
    """The figures of two or more digits that ``question`` states and none
    of ``passages`` does (digits compared, separators and whitespace
    ignored). On the 358 dev items of 0.10.0 with their retrieved passages
    it fires on 5 of 143 unanswerable questions and none of the 215
    answerable ones (a year the articles never give, "50 billion" for a fund
    of 100 billion)."""
    text = re.sub(r"[\s,]", "", to_simplified("".join(passages)))
    figures = [f.replace(",", "") for f in FIGURE.findall(question)]
    out = [f for f in figures if len(f.replace(".", "")) >= 2 and f not in text]
    # a one-digit amount with its magnitude ("1亿元", "5倍") is stated as such or not at all
    out += [m.group() for m in MAGNITUDE.finditer(to_simplified(question))
            if m.group() not in text and "〇一二三四五六七八九"[int(m.group()[0])] + m.group()[1:] not in text]
    return list(dict.fromkeys(out))
