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

from rag.answer.persons import corpus_person
from rag.script import to_simplified

#: Question words that presuppose the event they ask about (why / how come).
WHY_ZH = re.compile(r"为[什甚]么|为何|为啥|怎么会|何以|缘何")
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
#: refused, no answerable one (docs/reader.md). Durations (3天, 2个月, 0.15.0; not
#: an ordinal, 第2天) on the 848 dev items of 0.15.0: 1 more refused, no answerable one.
MAGNITUDE = re.compile(r"(?<![\d.第])\d(?:亿|万|千|百|倍|天|个月|周|小时)")


def unstated_figures(question: str, passages: list[str]) -> list[str]:
    """The figures of two or more digits that ``question`` states and none
    of ``passages`` does (digits compared, separators and whitespace
    ignored). On the 358 dev items of 0.10.0 with their retrieved passages
    it fires on 5 of 143 unanswerable questions and none of the 215
    answerable ones (a year the articles never give, "50 billion" for a fund
    of 100 billion). A one-digit figure with a magnitude or a duration
    (MAGNITUDE: 1亿, 5倍, 3天, 2个月) counts too, written in digits, in Chinese
    numerals or, for 2, as 两."""
    text = re.sub(r"[\s,]", "", to_simplified("".join(passages)))
    figures = [f.replace(",", "") for f in FIGURE.findall(question)]
    out = [f for f in figures if len(f.replace(".", "")) >= 2 and f not in text]
    # a one-digit amount with its magnitude ("1亿元", "5倍") is stated as such or not at all
    out += [m.group() for m in MAGNITUDE.finditer(to_simplified(question))
            if m.group() not in text and "〇一二三四五六七八九"[int(m.group()[0])] + m.group()[1:] not in text
            and not (m.group()[0] == "2" and "两" + m.group()[1:] in text)]  # 2个月 is 两个月
    return list(dict.fromkeys(out))


#: The title a role ends with ("香港工程院院长", "工信厅长", "人工智能资助计划委员会主席").
_TITLE_WORDS = r"院长|校长|主席|主任|厅长|局长|部长|署长|会长|书记|总裁|总经理|理事长|秘书长|省长|市长|区长|所长|社长|行长|董事长"
_ROLE_TITLE = rf"(?:副)?(?:{_TITLE_WORDS})"
_ROLE = rf"[\u4e00-\u9fff（）()]{{0,16}}?{_ROLE_TITLE}"
#: "NAME作为ROLE" (an honorific may come between: "杨强教授担任…"), "身为ROLE的NAME", "ROLE NAME"
#: (a title right before a name).
_HONORIFIC = r"(?:教授|博士|院士|先生|女士|议员|代表)?"
_AS_ROLE = re.compile(rf"(?P<name>[\u4e00-\u9fff]{{2,3}}?){_HONORIFIC}(?:作为|身为|担任)(?P<role>{_ROLE})")
_ROLE_OF = re.compile(rf"(?:作为|身为)(?P<role>{_ROLE})的(?P<name>[\u4e00-\u9fff]{{2,3}})")
_ROLE_BEFORE = re.compile(rf"(?P<role>[\u4e00-\u9fff]{{0,12}}?{_ROLE_TITLE})(?P<name>[\u4e00-\u9fff]{{2,3}})")
#: How far before a name the corpus gives its titles ("…首席副校长、…研究中心主任郭毅可"), in characters.
ROLE_WINDOW = 48
#: The share of a role's organisation characters (香港工程院 of 香港工程院院长) that the
#: corpus's titles before the name must hold.
ROLE_ORG_SHARE = 0.5


def unsupported_roles(question: str, text: str) -> list[str]:
    """The "person as role" premises of a Chinese question that ``text`` (the
    corpus, Simplified, no whitespace) never states: "郭毅可作为香港工程院院长"
    when the corpus gives 郭毅可's titles as 香港科技大学首席副校长 and …主任.
    A role is stated when, within ROLE_WINDOW characters before one of the
    name's occurrences, the corpus gives its title (院长; a deputy's title,
    副厅长, does not state 厅长) and at least ROLE_ORG_SHARE of the rest of
    the role's characters (its organisation). Returned as "name（role）".

    >>> corpus = "广东省科学技术厅副厅长杨军介绍，香港科技大学首席副校长郭毅可建议成立学院。"
    >>> unsupported_roles("郭毅可作为香港工程院院长，建议成立什么学院？", corpus)
    ['郭毅可（香港工程院院长）']
    >>> unsupported_roles("工信厅长杨军怎么讲的？", corpus)
    ['杨军（工信厅长）']
    >>> unsupported_roles("科技厅副厅长杨军介绍了什么？", corpus)
    []
    """
    q = to_simplified(question)
    if len(re.findall(r"[A-Za-z]", q)) > len(re.findall(r"[\u3400-\u9fff]", q)):
        return []  # English: its roles would need translating
    pairs = []
    for pattern in (_AS_ROLE, _ROLE_OF, _ROLE_BEFORE):
        for m in pattern.finditer(q):
            name, role = m.group("name"), m.group("role")
            # the longest name the corpus gives after a title (杨军 of 杨军在, 杨强 of 问杨强)
            # before 作为/担任 the match may begin early (问杨强): try its ends too
            parts = [part for n in (3, 2) if len(name) >= n
                     for part in ((name[:n], name[-n:]) if pattern is _AS_ROLE else (name[:n],))]
            name = next((part for part in parts if corpus_person(part, text)), "")
            if name and (name, role) not in pairs:
                pairs.append((name, role))
    out = []
    for name, role in pairs:
        title = re.search(_ROLE_TITLE + "$", role).group()
        org = [c for c in role[: -len(title)] if c not in "（）()省市区的"]
        stated = False
        for m in re.finditer(re.escape(name), text):
            window = text[max(0, m.start() - ROLE_WINDOW): m.start()]
            spots = [i for i in (k.start() for k in re.finditer(re.escape(title), window))
                     if title.startswith("副") or i == 0 or window[i - 1] != "副"]
            if spots and (not org or sum(c in window for c in org) / len(org) >= ROLE_ORG_SHARE):
                stated = True
                break
        if not stated:
            out.append(f"{name}（{role}）")
    return out


#: Words a question puts before an organisation ("其中季华实验室").
_DEMONSTRATIVES = r"其中|那个|这个|那|该|这"
#: A "who holds this title" question: "季华实验室的主任是谁？", "那位中山大学校长叫什么名字？".
_HOLDER_TITLE = rf"(?:副)?(?:{_TITLE_WORDS}|负责人|创始人|首席执行官|ceo|cto|总监)"
_HOLDER = re.compile(rf"([\u4e00-\u9fffa-z()（）]{{2,24}}?)的?({_HOLDER_TITLE})(?:是谁|是哪位|叫什么|由谁|是何人|是什么人)")
#: Words of an organisation's name that do not tell it from another (之江实验室 and 季华实验室 are
#: both 实验室), and what refers back to an organisation named earlier ("该司联合创始人兼CTO").
_GENERIC_ORG_WORDS = re.compile(r"实验室|联盟|公司|集团|大学|学院|研究院|研究所|委员会|中心|团队|项目|基金|协会|商会|政府"
                                rf"|部门|机构|单位|{_DEMONSTRATIVES}|省|市|区|[()（）]")
_REFERS_BACK = re.compile(r"该司|该公司|该企业|该院|该校|该会|其|公司")
#: How far back an organisation named earlier may be when the title refers back to it ("该司…").
HOLDER_REFERENCE_WINDOW = 6 * ROLE_WINDOW


def unnamed_holder(question: str, text: str) -> str | None:
    """The "organisation + title" a Chinese "who holds it" question asks about
    when ``text`` (the corpus, normalized as rag.answer.entities.CorpusNames.text)
    never gives that title with that organisation: no occurrence of the title
    (a deputy's, 副主任, is not 主任) has, within ROLE_WINDOW characters before
    it, ROLE_ORG_SHARE of the organisation's distinguishing characters (季华 of
    季华实验室; a title after 该司 or 公司 looks HOLDER_REFERENCE_WINDOW back).
    None when the question asks no such thing or the corpus names the holder.
    Measured on the 948 dev items of 0.16.0 (docs/reader.md).

    >>> corpus = "之江实验室主任王坚发言。建成季华实验室等重量级实验室。"
    >>> unnamed_holder("其中季华实验室的主任是谁？", corpus)
    '季华实验室主任'
    >>> unnamed_holder("之江实验室主任是谁？", corpus) is None
    True
    """
    m = _HOLDER.search(to_simplified(question).lower())
    if m is None:
        return None
    org, title = re.split(r"的|那位|这位|哪位|位", m.group(1))[-1], m.group(2)
    core = [c for c in _GENERIC_ORG_WORDS.sub("", org) if c.isalnum()]
    if len(core) < 2:
        return None
    for t in re.finditer(re.escape(title), text):
        if not title.startswith("副") and t.start() > 0 and text[t.start() - 1] == "副":
            continue
        back = HOLDER_REFERENCE_WINDOW if _REFERS_BACK.search(text[max(0, t.start() - 8): t.start()]) else ROLE_WINDOW
        window = text[max(0, t.start() - back): t.start()]
        if sum(c in window for c in core) / len(core) >= ROLE_ORG_SHARE:
            return None
    return re.sub(rf"^(?:{_DEMONSTRATIVES})", "", org) + title
