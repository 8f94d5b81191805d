"""What a refusal says: why the reader refused, in the reader's script, naming the
kind (missing entity, unsupported premise, missing term, near miss, a contrast
follow-up's subject, or no answer found). Used by rag.answer.answerability."""

from __future__ import annotations

from rag.script import to_script


def refusal_message(script: str, focus: tuple[str, ...] = (), unseen: list[str] | None = None,
                    missing: list[str] | None = None, premise: list[str] | None = None,
                    near: list[str] | None = None, focus_named: bool = False, article: bool = False) -> str:
    """Why the reader refused, in the reader's script, naming the kind:
    a missing entity (``missing``: names the articles never mention), an
    unsupported premise (``premise``: events the passages never state), a
    missing term (``unseen``: named first, so that a reader who paraphrased
    can ask again in the articles' words, "文章沒有出現「耗電量」。"), a near
    miss (``near``: the question's topic words that the closest sentence,
    cited with the refusal, does name), a contrast follow-up's subject
    (``focus``) that the passages do not name, or name without an answer
    beside it (``focus_named``), or no answer found. ``article``: the missing names are missing from the
    article the answer would come from (the corpus may name them elsewhere)."""
    if missing or premise:
        if missing:
            en = (f"The article the answer would come from never mentions {', '.join(missing)}, so it cannot answer this."
                  if article else f"The articles never mention {', '.join(missing)}, so they cannot answer this.")
            zh = f"{'答案所在的文章' if article else '文章'}没有提到“{'”“'.join(missing)}”，无法回答这个问题。"
        else:
            en = (f"The question assumes something the articles do not report ({', '.join(premise)}); "
                  "they give no such event.")
            zh = f"问题的前提在文章中找不到：文章没有提到“{'”“'.join(premise)}”这件事。"
        if script == "en":
            return en
        text = to_script(zh, script)
        return text.replace("“", "「").replace("”", "」") if script == "zh-Hant" else text
    if focus and focus_named:  # a contrast follow-up whose subject is named, but with no answer beside it
        en = f"The passages found mention {'、'.join(focus)}, but the reader found no answer to this there."
        zh = f"找到的段落提到了“{'、'.join(focus)}”，但阅读器在其中找不到这个问题的答案。"
    elif focus:
        en = f"The passages found do not mention {'、'.join(focus)}."
        zh = f"找到的段落没有提到“{'、'.join(focus)}”。"
    elif near:
        en = (f"A near miss: the articles mention {', '.join(near)}, but not what is asked; "
              "what they do say is quoted and cited.")
        zh = f"相近但不相符：文章提到“{'”“'.join(near)}”，但没有给出所问的内容；下面引用的是文章实际说的。"
    else:
        en = "The closest passages do not state what is asked (the reader found no answer in them)."
        zh = "最相关的段落没有给出所问的内容（阅读器在其中找不到答案）。"
    if unseen:
        en = f"The articles never mention: {', '.join(unseen)}. " + en
        zh = f"文章没有出现“{'”“'.join(unseen)}”。" + zh
    if script == "en":
        return en
    text = to_script(zh, script)
    return text.replace("“", "「").replace("”", "」") if script == "zh-Hant" else text
