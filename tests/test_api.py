"""The public API: what ``rag`` exports, and README's Python example run
as a doctest against the session's index."""

import doctest
import re

import pytest

import rag

from .conftest import ROOT


def test_import_rag_is_cheap():
    """`import rag` loads none of the heavy modules until a name is used."""
    import subprocess
    import sys

    code = "import sys, rag; print(sorted(m for m in ('rag.pipeline', 'torch', 'llama_index.core') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_every_exported_name_resolves():
    for name in rag.__all__:
        assert getattr(rag, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rag.nope  # noqa: B018


def test_readme_python_example_runs(kb, index_dir, monkeypatch, tmp_path):
    """Every ```python block of README.md with ``>>>`` lines, as a doctest
    (cwd: the checkout, the index: the session's, no config file); a block
    without them (a client of a running server) must at least compile."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RAGQA_INDEX_DIR", str(index_dir))
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("RAGQA_CONFIG", str(empty))  # no developer's ragqa.toml leaks in
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert any(">>>" in b for b in blocks), "README.md has no ```python example"
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"README.md python block {i + 1}", "README.md", 0)
        if not test.examples:
            compile(block, f"README.md python block {i + 1}", "exec")
            continue
        result = runner.run(test)
        assert result.failed == 0, f"README python block {i + 1}: {result.failed} of {result.attempted} failed (see output)"
