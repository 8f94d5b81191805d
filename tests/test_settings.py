"""Settings: one path (rag.settings) with flag > environment > config file >
default, clear errors naming the key, and no other module reading the
environment."""

import re

import pytest

from rag.cli import main
from rag.settings import ConfigError, load_settings

from .conftest import ROOT


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    """No RAGQA_* variable from the caller's shell; cwd without ragqa.toml."""
    import os

    for var in [v for v in os.environ if v.startswith("RAGQA_") or v == "OPENAI_API_KEY"]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/ragqa/config.toml
    return monkeypatch


def _config(tmp_path, text: str):
    path = tmp_path / "ragqa.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_flag_beats_environment_beats_file_beats_default(clean_env, tmp_path):
    cfg = _config(tmp_path, 'k = 3\nretriever = "bm25"\nreader = "off"\n')
    clean_env.setenv("RAGQA_CONFIG", str(cfg))
    clean_env.setenv("RAGQA_K", "4")
    s = load_settings(k=7)
    assert (s.k, s.retriever, s.reader, s.port) == (7, "bm25", "off", 7860)  # flag, file, file, default
    assert load_settings().k == 4  # environment over file
    clean_env.delenv("RAGQA_K")
    assert load_settings().k == 3
    assert load_settings(config_file=None).k == 5


def test_the_config_file_is_found_in_the_working_directory(clean_env, tmp_path):
    _config(tmp_path, "port = 8123\n")
    assert load_settings().port == 8123


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('bakcend = "openai"\n', {}, "unknown setting 'bakcend' in config file"),
        ('k = "five"\n', {}, "setting 'k' from config file"),
        ("", {"RAGQA_K": "0"}, "setting 'k' from $RAGQA_K: Input should be greater than or equal to 1"),
        ('retriever = "fuzzy"\n', {}, "unknown retriever 'fuzzy'"),
        ("k = [\n", {}, "cannot read config file"),
    ],
)
def test_bad_settings_name_the_key_and_where_it_came_from(clean_env, tmp_path, text, env, message):
    cfg = _config(tmp_path, text)
    for var, value in env.items():
        clean_env.setenv(var, value)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        load_settings()
    if "config file" in message:
        assert str(cfg.name) in str(err.value)


def test_a_named_config_file_that_is_missing_is_an_error(clean_env, tmp_path):
    clean_env.setenv("RAGQA_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings()


def test_backend_options_from_file_environment_and_flags(clean_env, tmp_path):
    cfg = _config(tmp_path, '[openai]\nbase_url = "http://file:1/v1"\nmodel = "file-model"\ntimeout = 5\n'
                            'api_key_env = "MY_KEY"\n[llamacpp]\ngguf = "/file.gguf"\n')
    clean_env.setenv("RAGQA_CONFIG", str(cfg))
    clean_env.setenv("RAGQA_OPENAI_MODEL", "env-model")
    clean_env.setenv("MY_KEY", "sk-secret")
    clean_env.setenv("RAGQA_GGUF", "/legacy.gguf")  # the older name of RAGQA_LLAMACPP_GGUF
    s = load_settings()
    assert s.backend_options("openai", timeout=9.0) == {
        "base_url": "http://file:1/v1", "model": "env-model", "timeout": 9.0, "api_key": "sk-secret"}
    assert s.backend_options("llamacpp") == {"gguf": "/legacy.gguf"}
    clean_env.setenv("RAGQA_LLAMACPP_GGUF", "/new.gguf")
    assert s.backend_options("llamacpp") == {"gguf": "/new.gguf"}


def test_empty_variables_count_as_unset(clean_env):
    clean_env.setenv("RAGQA_INDEX_DIR", "")
    clean_env.setenv("RAGQA_K", "")
    s = load_settings(config_file=None)
    assert s.index_dir is None and s.k == 5


def test_the_tables_own_key_variable_beats_openai_api_key(clean_env, tmp_path):
    """A key meant for another provider (OPENAI_API_KEY) must not reach a
    server whose table names its own key variable."""
    cfg = _config(tmp_path, '[openai]\nbase_url = "https://api.deepseek.com/v1"\napi_key_env = "DEEPSEEK_API_KEY"\n')
    clean_env.setenv("RAGQA_CONFIG", str(cfg))
    clean_env.setenv("OPENAI_API_KEY", "sk-openai")
    clean_env.setenv("DEEPSEEK_API_KEY", "sk-deepseek")
    assert load_settings().backend_options("openai")["api_key"] == "sk-deepseek"
    clean_env.delenv("DEEPSEEK_API_KEY")
    assert load_settings().backend_options("openai")["api_key"] == "sk-openai"


def test_structured_options_come_from_json_in_the_environment(clean_env):
    clean_env.setenv("RAGQA_EXTRACTIVE_WEIGHTS", '{"cosine": 0.5}')
    assert load_settings(config_file=None).backend_options("extractive") == {"weights": {"cosine": 0.5}}


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["ask", "問題", "--k", "0"], {}, "setting 'k' from --k: Input should be greater than or equal to 1"),
        (["ask", "問題", "--backend", "openai"], {"RAGQA_OPENAI_TIMEOUT": "soon"}, "openai: option 'timeout'"),
        (["ask", "問題", "--backend", "llamacpp"], {"RAGQA_LLAMACPP_GGUFF": "x.gguf"}, "unknown option 'gguff'"),
    ],
)
def test_bad_settings_and_options_exit_2_with_one_line(clean_env, capsys, argv, env, message):
    for var, value in env.items():
        clean_env.setenv(var, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_python_ui_and_ragqa_ui_share_one_parser(capsys):
    import ui

    assert ui.main(["--help"]) == 0
    from_ui = capsys.readouterr().out
    assert main(["ui", "--help"]) == 0
    assert from_ui == capsys.readouterr().out and "--reader" in from_ui and "--port" in from_ui
    import subprocess
    import sys

    script = subprocess.run([sys.executable, "ui.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert script.returncode == 0 and script.stdout == from_ui  # the real script entry point


def test_ragqa_config_prints_the_resolved_settings_without_secrets(clean_env, tmp_path, capsys):
    import json

    clean_env.setenv("RAGQA_BACKEND", "openai")
    clean_env.setenv("RAGQA_OPENAI_API_KEY", "sk-secret")
    assert main(["config", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["backend"] == "openai" and obj["backend_options"] == {"api_key": "***"}


def test_only_the_settings_module_reads_the_environment():
    """`os.environ` / `getenv` appear only in rag/settings.py, plus the
    documented exception in ui.py (Gradio's analytics switch, set before
    gradio is imported)."""
    offenders = []
    for path in [*ROOT.glob("rag/**/*.py"), *ROOT.glob("embeddings/**/*.py"), ROOT / "ui.py"]:
        if path.name == "settings.py" and path.parent.name == "rag":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"os\.environ|getenv\(", code) and "GRADIO_ANALYTICS_ENABLED" not in code:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
