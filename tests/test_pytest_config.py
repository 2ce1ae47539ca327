"""Reading the pytest configuration a file sees (asynclint.pytest_config), and ASL503 using
it end to end through the CLI."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from asynclint import pytest_config
from asynclint.pytest_config import PluginUse, PytestConfig, plugin_use
from tests.conftest import RunCli


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    pytest_config.clear_cache()
    yield
    pytest_config.clear_cache()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def config_of(root: Path, files: dict[str, str], test: str = "tests/test_x.py") -> PytestConfig:
    write(root, {**files, test: ""})
    found = pytest_config.config_for(str(root / test))
    assert found is not None
    return found


# -- which file, which section -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.toml", '[pytest]\nasyncio_mode = "auto"\n'),
        (".pytest.toml", '[pytest]\nasyncio_mode = "auto"\n'),
        ("pytest.ini", "[pytest]\nasyncio_mode = auto\n"),
        (".pytest.ini", "[pytest]\nasyncio_mode = auto\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'),
        ("pyproject.toml", '[tool.pytest]\nasyncio_mode = "auto"\n'),
        ("tox.ini", "[tox]\nenvlist = py\n\n[pytest]\nasyncio_mode = auto\n"),
        ("setup.cfg", "[metadata]\nname = x\n\n[tool:pytest]\nasyncio_mode = auto\n"),
    ],
)
def test_each_configuration_file_is_read(tmp_path: Path, name: str, text: str) -> None:
    config = config_of(tmp_path, {name: text})
    assert config.path == str(tmp_path / name)
    assert config.option("asyncio_mode") == "auto"


def test_an_empty_pytest_ini_is_the_configuration(tmp_path: Path) -> None:
    config = config_of(tmp_path / "inner", {"pytest.ini": ""})
    write(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'})
    assert config.path == str(tmp_path / "inner" / "pytest.ini")
    assert config.option("asyncio_mode") is None


def test_files_without_a_pytest_section_are_skipped_up_to_the_next_folder(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"setup.cfg": "[tool:pytest]\nasyncio_mode = strict\n"})
    config = config_of(
        tmp_path / "project",
        {
            "pyproject.toml": "[tool.ruff]\nline-length = 99\n",
            "tox.ini": "[tox]\nenvlist = py\n",
            "setup.cfg": "[flake8]\nmax-line-length = 99\n",
        },
    )
    assert config.path == str(tmp_path / "setup.cfg")
    assert config.option("asyncio_mode") == "strict"


def test_the_first_file_in_pytests_order_wins_within_a_folder(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "strict"\n',
            "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
            "tox.ini": "[pytest]\nasyncio_mode = strict\n",
        },
    )
    assert config.path == str(tmp_path / "pytest.ini")


def test_the_nearest_folder_wins(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\nasyncio_mode = auto\n"})
    config = config_of(tmp_path / "sub", {"tox.ini": "[pytest]\nasyncio_mode = strict\n"})
    assert config.option("asyncio_mode") == "strict"


def test_no_configuration_anywhere_gives_the_defaults(tmp_path: Path) -> None:
    config = PytestConfig(None)
    assert config.option("asyncio_mode") is None
    assert config.collects_file(str(tmp_path / "test_a.py"))
    assert config.collects_file(str(tmp_path / "a_test.py"))
    assert not config.collects_file(str(tmp_path / "conftest.py"))
    assert config.collects_class("TestThing") and not config.collects_class("Thing")
    assert config.collects_function("test_x") and not config.collects_function("check_x")


# -- options ---------------------------------------------------------------------------------


def test_native_toml_values_become_strings_and_lists(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.pytest]
                addopts = ["-p", "anyio", "-p", "no:asyncio"]
                trio_mode = true
                timeout = 20
                python_classes = ["Check*", "Suite"]
                """
        },
    )
    assert config.options["trio_mode"] == "true"
    assert config.options["timeout"] == "20"
    assert config.plugins == {"anyio"}
    assert config.disabled == {"asyncio"}
    assert config.collects_class("CheckThing") and config.collects_class("SuiteOne")
    assert not config.collects_class("TestThing")


@pytest.mark.parametrize(
    "addopts",
    [
        "--asyncio-mode=auto",
        "--asyncio-mode auto",
        "-o asyncio_mode=auto",
        "-oasyncio_mode=auto",
        "--override-ini=asyncio_mode=auto",
        "--override-ini asyncio_mode=auto",
    ],
)
def test_addopts_override_the_ini_option(tmp_path: Path, addopts: str) -> None:
    config = config_of(
        tmp_path, {"pytest.ini": f"[pytest]\nasyncio_mode = strict\naddopts = -ra {addopts}\n"}
    )
    assert config.option("asyncio_mode") == "auto"


def test_plugins_from_addopts_and_required_plugins(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "setup.cfg": """
                [tool:pytest]
                addopts =
                    # comment lines inside a value are skipped
                    -p pytest_cov -pxdist
                    -p no:cacheprovider
                required_plugins = pytest-asyncio>=0.23 pytest-trio
                """
        },
    )
    assert config.plugins == {"pytest_cov", "xdist", "pytest-asyncio", "pytest-trio"}
    assert config.disabled == {"cacheprovider"}


def test_python_files_patterns_with_a_folder_match_the_path(tmp_path: Path) -> None:
    config = config_of(
        tmp_path, {"pytest.ini": "[pytest]\npython_files = checks.py */suite/*.py\n"}
    )
    assert config.collects_file(str(tmp_path / "a" / "checks.py"))
    assert config.collects_file(str(tmp_path / "suite" / "any.py"))
    assert not config.collects_file(str(tmp_path / "test_a.py"))


# -- what cannot be read -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", "[tool.pytest.ini_options\nasyncio_mode = 'auto'\n"),
        ("pyproject.toml", "[tool]\npytest = 3\n"),
        ("pytest.toml", "[pytest]\nasyncio_mode = \n"),
        ("pytest.ini", "[pytest]\nasyncio_mode = auto\nasyncio_mode = strict\n"),
        ("tox.ini", "asyncio_mode = auto\n"),
        ("setup.cfg", "[tool:pytest]\n[tool:pytest]\n"),
    ],
)
def test_a_malformed_file_makes_the_answer_unknown(tmp_path: Path, name: str, text: str) -> None:
    write(tmp_path, {name: text, "tests/test_x.py": ""})
    test = str(tmp_path / "tests" / "test_x.py")
    assert pytest_config.config_for(test) is None
    assert pytest_config.conftests_for(test) is None


def test_undecodable_bytes_make_the_answer_unknown(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_bytes(b"[pytest]\nasyncio_mode = \xff\n")
    assert pytest_config.config_for(str(tmp_path / "test_x.py")) is None


def test_an_unparsable_conftest_makes_the_conftests_unknown(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "", "tests/conftest.py": "def broken(:\n"})
    assert pytest_config.conftests_for(str(tmp_path / "tests" / "test_x.py")) is None


# -- conftest files ----------------------------------------------------------------------------


def test_conftests_from_the_configuration_folder_down(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "conftest.py": "def pytest_pyfunc_call(pyfuncitem): ...\n",
            "project/pytest.ini": "",
            "project/conftest.py": "pytest_plugins = 'pytester'\n",
            "project/tests/conftest.py": "pytest_plugins = ['aiohttp.pytest_plugin']\n",
            "project/tests/unit/test_x.py": "",
        },
    )
    found = pytest_config.conftests_for(str(tmp_path / "project/tests/unit/test_x.py"))
    assert found is not None
    assert [use.plugins for use in found] == [("pytester",), ("aiohttp.pytest_plugin",)]


def test_without_configuration_conftests_stop_at_the_project_root(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "conftest.py": "import anyio\n",
            "project/setup.py": "",
            "project/conftest.py": "import trio\n",
            "project/tests/test_x.py": "",
        },
    )
    found = pytest_config.conftests_for(str(tmp_path / "project/tests/test_x.py"))
    assert found is not None
    assert [sorted(use.imports) for use in found] == [["trio"]]


def test_plugin_use_reads_hooks_plugins_imports_and_marks() -> None:
    use = plugin_use(
        textwrap.dedent(
            """
            import pytest as pt
            import pytest_asyncio.plugin
            from pytest import mark as m
            from .local import helper

            pytest_plugins = ("anyio", "tests.fixtures")

            def pytest_collection_modifyitems(items): ...

            def anyio_backend():
                return "asyncio"

            @pt.mark.asyncio
            async def test_a(): ...

            @m.trio
            async def test_b(): ...

            class TestC:
                def pytest_not_a_hook(self): ...
            """
        )
    )
    assert use == PluginUse(
        functions=frozenset(["pytest_collection_modifyitems", "anyio_backend", "test_a", "test_b"]),
        plugins=("anyio", "tests.fixtures"),
        imports=frozenset(["pytest", "pytest_asyncio"]),
        marks=frozenset(["asyncio", "trio"]),
    )
    assert use.hooks == {"pytest_collection_modifyitems"}


def test_plugin_use_of_unparsable_source_is_unknown() -> None:
    assert plugin_use("def broken(:\n") is None


# -- caching -------------------------------------------------------------------------------------


def test_answers_are_cached_until_cleared(tmp_path: Path) -> None:
    test = str(tmp_path / "test_x.py")
    write(tmp_path, {"pytest.ini": "[pytest]\nasyncio_mode = strict\n"})
    first = pytest_config.config_for(test)
    write(tmp_path, {"pytest.ini": "[pytest]\nasyncio_mode = auto\n"})
    assert pytest_config.config_for(test) is first
    pytest_config.clear_cache()
    again = pytest_config.config_for(test)
    assert again is not None and again.option("asyncio_mode") == "auto"


def test_inputs_are_the_folders_walked_and_the_files_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "project/pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n',
            "project/conftest.py": "",
            "project/tests/test_x.py": "",
        },
    )
    project = tmp_path / "project"
    assert pytest_config.inputs_for(str(project / "tests" / "test_x.py")) == (
        str(project / "tests"),
        str(project),
        str(project / "conftest.py"),
        str(project / "pyproject.toml"),
    )


# -- end to end --------------------------------------------------------------------------------

TESTS = """\
import pytest


@pytest.fixture
async def client():
    return object()


async def test_get(client):
    assert client
"""


def test_cli_reports_strict_mode_and_stays_silent_in_auto_mode(
    run_cli: RunCli, tmp_path: Path
) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "strict"\n',
            "tests/test_api.py": TESTS,
        },
    )
    done = run_cli("check", "--format", "concise", "--select", "ASL503", "tests")
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        "tests/test_api.py:5:11: ASL503 async fixture `client` uses plain `@pytest.fixture`: "
        "pytest-asyncio's strict mode hands tests an unawaited coroutine; use "
        "`@pytest_asyncio.fixture`",
        "tests/test_api.py:9:11: ASL503 async test `test_get` has no `@pytest.mark.asyncio`: "
        "pytest-asyncio's strict mode does not run it",
    ]
    write(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'})
    done = run_cli("check", "--format", "concise", "--select", "ASL503", "tests")
    assert (done.returncode, done.stderr) == (0, "")


def test_cli_stays_silent_on_a_malformed_configuration(run_cli: RunCli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {"setup.cfg": "[tool:pytest]\naddopts = -ra\naddopts = -q\n", "tests/test_api.py": TESTS},
    )
    done = run_cli("check", "--format", "concise", "--select", "ASL501,ASL503")
    assert (done.returncode, done.stderr) == (0, "")
    assert "Traceback" not in done.stdout
