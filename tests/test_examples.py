"""Every example the product shows is answered right: the chat's example
questions, the README's sample session and ``ragqa ask --help``'s examples.
An example the system cannot answer is replaced, not kept.

Each example has the span its answer must contain (or None: it must be
refused); an example shown anywhere but missing here fails the test, so a
new example comes with its expected answer."""

import re

import pytest

from .conftest import ROOT

#: (question, history) -> a span the answer must contain, in the answer's script; None: refused.
EXPECTED = {
    ("深圳人工智能基金群的規模有多大？", ()): "1000億元",
    ("南沙区对人工智能产业最高给予多少资金支持？", ()): "1000万元",
    ("那南沙呢？", ("深圳人工智能基金群的規模有多大？",)): "5亿元",
    ("What did Chen Qingquan say is most important for innovation?", ()): "文化氛圍",
    ("火星上有多少個機器人工廠？", ()): None,
    # a near miss, refused with the phase-one sentence quoted (tests/test_refusal_kinds.py checks the quote)
    ("前海深港人工智能算力中心二期工程的算力是多少？", ()): None,
    ("广东省人工智能与机器人产业发展座谈会由谁主持？", ()): "黄坤明",
    ("Which companies founded the Bay Area AI industry innovation alliance?", ()): "华为",
    ("Who chaired the symposium on AI and robotics held in Guangdong on 18 February?", ()): "黃坤明",
}


def _readme_examples() -> list[tuple[str, tuple[str, ...]]]:
    """``$ ragqa ask "Q" [--history "H"]`` lines of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        m = re.match(r'\$ ragqa ask (?:--\S+ )*"([^"]+)"(?: --history "([^"]+)")?', line.strip())
        if m:
            out.append((m.group(1), (m.group(2),) if m.group(2) else ()))
    return list(dict.fromkeys(out))


def _help_examples() -> list[tuple[str, tuple[str, ...]]]:
    from rag.cli import ASK_EXAMPLES

    return [(q, tuple(h)) for q, h in ASK_EXAMPLES]


def _shown() -> list[tuple[str, tuple[str, ...]]]:
    import ui

    return list(dict.fromkeys([(q, ()) for q in ui.EXAMPLES] + _readme_examples() + _help_examples()))


def test_every_shown_example_has_an_expected_answer():
    shown = _shown()
    assert len(shown) >= 8
    assert [e for e in shown if e not in EXPECTED] == []


@pytest.mark.parametrize("example", sorted(EXPECTED, key=str), ids=lambda e: e[0][:24])
def test_example_is_answered_right(pipeline, example):
    if example not in _shown():
        pytest.skip("no longer shown")
    question, history = example
    ans = pipeline.ask(question, history=list(history))
    want = EXPECTED[example]
    if want is None:
        assert ans.refused, ans.answer
        return
    assert not ans.refused, ans.refusal_reason
    shown = ans.answer + " " + ((ans.short_answer or {}).get("text") or "")
    assert want in shown or want in "".join(c.text for c in ans.citations[:1]), ans.answer
