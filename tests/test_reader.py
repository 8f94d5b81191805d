"""The trained reader: the shipped weights load offline and read, damaged
files give a clear error, long inputs are split (never truncated), the
pipeline's short answer points at the exact original span, English
renderings, and the training command on a tiny slice."""

from __future__ import annotations

import json
import shutil

import pytest

from rag.answer.reader import DEFAULT_READER_DIR, MANIFEST_FILE, WEIGHTS_FILE, Reader, ReaderError, load_reader

from .conftest import ROOT

FUND = ("深圳将发挥政府投资引导基金作用，统筹整合基金资源，形成规模1000亿元（人民币，下同）的人工智能基金群，"
        "发力智能算力集群供给、关键核心技术研发和产品创新；")


@pytest.fixture(scope="module")
def reader():
    return load_reader()


def test_the_shipped_reader_loads_offline_and_reads_the_answer_span(reader):
    assert reader.manifest["validation"]["f1"] > 0.5  # the manifest records how it was validated
    span = reader.read("深圳人工智能基金群的规模有多大？", FUND)
    assert span.text == "1000亿元"
    assert FUND[span.start:span.end] == span.text


def test_the_answer_score_separates_an_answer_from_its_absence(reader):
    asked = "深圳人工智能基金群的规模有多大？"
    without = "深圳将发挥政府投资引导基金作用，统筹整合基金资源，发力智能算力集群供给、关键核心技术研发和产品创新；"
    assert reader.read(asked, FUND).score > reader.read(asked, without).score + 2


def test_a_window_longer_than_the_reader_reads_is_split_not_truncated(reader):
    filler = "粤港澳大湾区加快推进科技创新，各地持续优化营商环境。" * 30  # ~750 characters, far past 192 tokens
    window = filler + FUND
    span = reader.read("深圳人工智能基金群的规模有多大？", window)
    assert span.text == "1000亿元" and window[span.start:span.end] == "1000亿元"
    long_question = "请问" + "关于粤港澳大湾区的人工智能产业，" * 20 + "深圳人工智能基金群的规模有多大？"
    assert reader.read(long_question, FUND).text  # split into pieces too, still read


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / WEIGHTS_FILE).unlink(), "reader file missing"),
    (lambda d: (d / WEIGHTS_FILE).write_bytes((d / WEIGHTS_FILE).read_bytes()[:1000]), "corrupt"),
    (lambda d: (d / MANIFEST_FILE).write_text("{not json"), "manifest unreadable"),
])
def test_missing_or_corrupt_reader_files_name_the_file_and_the_fix(tmp_path, damage, message):
    folder = tmp_path / "reader"
    shutil.copytree(DEFAULT_READER_DIR, folder)
    damage(folder)
    with pytest.raises(ReaderError) as err:
        Reader.load(folder)
    assert message in str(err.value) and str(folder) in str(err.value)
    assert "git checkout -- embeddings/reader" in str(err.value) and "ragqa train-reader" in str(err.value)


def test_a_broken_reader_is_one_line_from_the_cli(tmp_path, capsys, settings):
    from rag.cli import main

    folder = tmp_path / "reader"
    folder.mkdir()
    code = main(["ask", "深圳人工智能基金群的規模有多大？", "--reader", str(folder), "--corpus", str(settings.corpus_dir),
                 "--index-dir", str(settings.index_dir)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "reader file missing" in err


def test_the_short_answer_is_the_exact_original_span_and_cited(pipeline):
    ans = pipeline.ask("深圳人工智能基金群的規模有多大？")
    short = ans.short_answer
    assert not ans.refused and short["text"] == "1000億元"
    original = (ROOT / "corpus" / short["doc"]).read_text(encoding="utf-8")
    assert "".join(original[short["start"]:short["end"]].split()) == "1000億元"
    assert ans.answer.startswith("1000億元")  # shown first, then its sentence
    cited = next(c for c in ans.citations if c.n == short["n"])
    assert cited.start <= short["start"] and short["end"] <= cited.end


def test_an_english_question_gets_the_chinese_span_and_an_english_rendering(pipeline):
    ans = pipeline.ask("How large is Shenzhen's artificial intelligence fund cluster?")
    assert not ans.refused
    assert ans.short_answer["text"] == "1000億元" and ans.short_answer["english"] == "100 billion yuan"


def test_refusals_come_from_the_reader_and_say_why(pipeline):
    ans = pipeline.ask("深圳人工智能基金群的管理费率是多少？")
    assert ans.refused and ans.short_answer is None and ans.refusal_reason


@pytest.mark.parametrize("span, english", [
    ("1000亿元", "100 billion yuan"),
    ("1000億元", "100 billion yuan"),
    ("400余人", "over 400 people"),
    ("5亿元", "500 million yuan"),
    ("2月18日", "18 February"),
    ("2025年-2027年", "2025 to 2027"),
    ("黄坤明", "Huang Kunming"),
    ("周伯文", "Zhou Bowen"),
    ("2018年", "2018"),  # a year (dates are tried before amounts)
    ("30年", "30 years"),
    ("千億級", "100 billion level"),  # Chinese numerals: CC-CEDICT glosses 千亿 as "myriads"
    ("近百人", "nearly 100 people"),
    ("3-5個", "3 to 5"),
    ("1至2個月", "1 to 2 months"),  # not word by word: "1 arrive 2 individual moon"
    ("20余年", "over 20 years"),
    ("广州、深圳", "Guangzhou, Shenzhen"),
])
def test_english_renderings_need_no_model(span, english):
    from rag.answer.english_rendering import english_rendering

    assert english_rendering(span) == english


@pytest.mark.parametrize("numeral, value", [("十七", 17), ("千亿", 10**11), ("万亿", 10**12), ("两千三百", 2300),
                                            ("一亿五千万", 150_000_000), ("二三", None), ("亿万富翁", None)])
def test_chinese_numerals_are_read_by_their_sections(numeral, value):
    from rag.answer.english_rendering import chinese_number

    assert chinese_number(numeral) == value


def test_english_rendering_gives_up_rather_than_guess():
    from rag.answer.english_rendering import english_rendering

    assert english_rendering("") is None
    assert english_rendering("的") in (None, "of")  # a function word at most, never an invented one
    assert english_rendering("500P") is None  # nothing Chinese to render
    assert english_rendering("共享算力中心") is None  # a compound's first glosses: "share hash rate center"
    assert english_rendering("技术攻关") is None


def test_both_dtypes_read_the_same_span_and_bad_dtypes_are_refused():
    from rag.answer.reader import Reader, resolve_dtype

    question, window = "深圳人工智能基金群规模多大？", "深圳将形成规模1000亿元（人民币，下同）的人工智能基金群。"
    spans = {dtype: Reader.load(dtype=dtype).read(question, window) for dtype in ("float32", "bfloat16")}
    assert {s.text for s in spans.values()} == {"1000亿元"}
    assert abs(spans["float32"].score - spans["bfloat16"].score) < 1.0  # measured: ~0.1 apart
    assert resolve_dtype("auto") in ("float32", "bfloat16")
    with pytest.raises(ValueError, match="unknown reader dtype 'int8'"):
        resolve_dtype("int8")


def test_train_reader_runs_on_a_tiny_slice(tmp_path, capsys):
    """`ragqa train-reader` end to end on 12 questions, 2 steps (the shipped
    reader took 1100 steps: docs/reader.md)."""
    from rag.cli import main

    out = tmp_path / "run"
    code = main(["train-reader", "--data", str(ROOT / "tests" / "data"), "--files", "mrc_tiny.json", "--out", str(out),
                 "--steps", "2", "--validation-questions", "4"])
    assert code == 0
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["steps"] == 2 and manifest["training_files"]["mrc_tiny.json"]
    assert {"em", "f1", "auc"} <= set(manifest["validation"])
    Reader.load(out).read("问题？", "一句话。")  # what it wrote loads
