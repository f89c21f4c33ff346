"""Set-up promises: pinned requirements, the app configuration, CI running the README's test command."""

import re
import tomllib

from tests.conftest import REPO_ROOT


def requirement_lines(name: str) -> list[str]:
    lines = (REPO_ROOT / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_every_runtime_requirement_is_pinned():
    for line in requirement_lines("requirements.txt"):
        assert re.match(r"^[A-Za-z0-9_.\-\[\]]+==[0-9][^;\s]*(\s*;.*)?$", line), line


def test_tensorflow_cpu_on_linux_and_full_tensorflow_elsewhere():
    lines = requirement_lines("requirements.txt")
    cpu = next(line for line in lines if line.startswith("tensorflow-cpu=="))
    full = next(line for line in lines if line.startswith("tensorflow=="))
    assert 'sys_platform == "linux"' in cpu and 'sys_platform != "linux"' in full
    assert not any(re.match(r"tf[-_]keras\s*[=<>~;]", line) for line in lines)  # legacy Keras breaks tf-keras-vis


def test_streamlit_config_sets_theme_and_server_options():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["theme"]["primaryColor"].startswith("#")
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    test_command = next(block for block in blocks if "pytest" in block).strip()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()
    assert "apt-get install" in ci and "chromium" in ci
    assert "FASHION_MNIST_DIR" in ci
