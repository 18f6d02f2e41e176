"""environment.yml and anaconda-project.yml are real conda specs, in sync with pyproject.

conda and anaconda-project cannot be installed here, so their rules are checked
directly.
"""
from __future__ import annotations

import hashlib
import re
import shlex
import tomllib

import pytest
import yaml

from tests.conftest import ROOT

# Top-level keys anaconda-project accepts (its project.py / docs).
ANACONDA_PROJECT_KEYS = {
    "name", "description", "icon", "variables", "downloads", "services", "env_specs",
    "commands", "packages", "dependencies", "channels", "platforms", "skip_imports",
    "user_fields", "maintainers",
}
COMMAND_KEYS = {"unix", "windows", "notebook", "bokeh_app", "conda_app_entry", "env_spec",
                "description", "supports_http_options", "registers_fusion_function",
                "variables"}
# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"dask[dataframe]": "dask"}


def load(name: str):
    return yaml.safe_load((ROOT / name).read_text())


def split(dependencies: list) -> tuple[list[str], list[str]]:
    conda = [d for d in dependencies if isinstance(d, str)]
    pip = [p for d in dependencies if isinstance(d, dict) for p in d.get("pip", [])]
    return conda, pip


def normalise(spec: str) -> str | None:
    spec = spec.strip()
    if spec.startswith("-e") or spec in ("pip",):
        return None
    name = re.split(r"[<>=!~ ;]", spec, maxsplit=1)[0]
    name = CONDA_NAMES.get(name, name)
    name = re.sub(r"\[.*\]", "", name)
    return re.sub(r"[-_.]+", "-", name).lower()


def names(specs) -> set[str]:
    return {n for n in map(normalise, specs) if n and n != "python"}


def channels_and_packages_hash(conda: list[str], pip: list[str], channels: list[str]) -> str:
    """anaconda-project's EnvSpec hash (env_spec.py): sha1 over conda specs, pip specs,
    channels, in order. Environment.yml counts as imported when a spec of the same
    name has this hash, or when skip_imports.environment records it."""
    digest = hashlib.sha1()
    for item in [*conda, *pip, *channels]:
        digest.update(item.encode("utf-8"))
    return digest.hexdigest()


def env_yml_hash(env: dict) -> str:
    conda, pip = split(env["dependencies"])
    return channels_and_packages_hash(conda, pip, env["channels"])


def test_hash_rule_matches_anaconda_projects_own_test_vector():
    # From anaconda-project's test_env_spec.py: this spec hashes to e91a22...
    assert channels_and_packages_hash(["bar=1.0", "baz"], ["pippy", "poppy==2.0"],
                                      ["channel1", "channel2"]) == \
        "e91a2263df510c9b188b132b801ba53aa99cc407"


def test_anaconda_project_keys_and_commands():
    project = load("anaconda-project.yml")
    assert project["name"]
    assert set(project) <= ANACONDA_PROJECT_KEYS, set(project) - ANACONDA_PROJECT_KEYS
    commands = project["commands"]
    assert {"dashboard", "test"} <= set(commands)
    for command in commands.values():
        assert set(command) <= COMMAND_KEYS
    dashboard = commands["dashboard"]
    assert dashboard["supports_http_options"] is True
    args = shlex.split(dashboard["unix"])
    assert args[:2] == ["panel", "serve"] and (ROOT / args[2] / "main.py").is_file()
    plugin = args[args.index("--plugins") + 1]
    assert (ROOT / (plugin.replace(".", "/") + ".py")).is_file()
    # The same serve command the README gives.
    assert dashboard["unix"] in (ROOT / "README.md").read_text()
    assert shlex.split(commands["test"]["unix"])[-1] == "pytest"


def test_environment_yml_is_imported_not_out_of_sync():
    env, project = load("environment.yml"), load("anaconda-project.yml")
    assert env["name"] in project["env_specs"]
    spec = project["env_specs"][env["name"]]
    conda, pip = split(spec["packages"])
    assert channels_and_packages_hash(conda, pip, spec["channels"]) == env_yml_hash(env)
    assert project["skip_imports"]["environment"] == env_yml_hash(env)


def test_a_changed_environment_yml_would_be_out_of_sync():
    env = load("environment.yml")
    changed = {**env, "dependencies": [*env["dependencies"][:-1], "extra-package"]}
    assert env_yml_hash(changed) != load("anaconda-project.yml")["skip_imports"]["environment"]


@pytest.mark.parametrize("extra", [None, "test"])
def test_package_sets_agree_with_pyproject(extra):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = names(pyproject["dependencies"] if extra is None
                   else pyproject["optional-dependencies"][extra])
    env_conda, env_pip = split(load("environment.yml")["dependencies"])
    spec = load("anaconda-project.yml")["env_specs"]["dask-workbench"]
    project_conda, project_pip = split(spec["packages"])
    assert wanted <= names(env_conda + env_pip)
    assert wanted <= names(project_conda + project_pip)


def test_no_package_beyond_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = names(pyproject["dependencies"]) | names(
        p for extra in pyproject["optional-dependencies"].values() for p in extra)
    env_conda, env_pip = split(load("environment.yml")["dependencies"])
    assert names(env_conda + env_pip) == declared
