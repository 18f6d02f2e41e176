"""The README's two commands are the ones the project really uses."""
import re
import shlex

from tests.conftest import ROOT


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)


def test_ci_runs_the_readme_test_command():
    test_command = bash_blocks((ROOT / "README.md").read_text())[1].strip()
    assert "pytest" in test_command and "chromium" in test_command
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_serve_command_serves_the_app_with_the_proxy():
    serve_command = bash_blocks((ROOT / "README.md").read_text())[0].strip()
    install, serve = serve_command.split(" && ")
    assert shlex.split(install) == ["pip", "install", "-e", "."]
    args = shlex.split(serve)
    assert args[:3] == ["panel", "serve", "dashboard/app"]
    assert (ROOT / args[2] / "main.py").is_file()
    plugin = args[args.index("--plugins") + 1]
    assert (ROOT / (plugin.replace(".", "/") + ".py")).is_file()
