"""The ``studio`` group: lazy sub-commands, the one ``--device`` option and the NVlabs option aliases."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
import torch
from PIL import Image

from ganlib.devices import resolve_device
from ganlib.errors import UserError
from studio.cli import COMMANDS, LazyGroup, cli
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
DEVICE_COMMANDS = ["render", "random", "grid", "train", "classify", "autoencode", "metrics", "experiment", "ui"]


def _python(code: str) -> subprocess.CompletedProcess:
    """Run ``python -c CODE`` with this checkout first on the path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)


def test_help_imports_no_torch_and_no_command_module():
    code = ("import sys; from studio.cli import main; main(['--help']); "
            "assert 'torch' not in sys.modules, 'torch'; "
            "assert not [m for m in sys.modules if m.startswith('studio.commands.')], 'a command module'")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    for name, (_, short_help) in COMMANDS.items():
        assert f"{name} " in proc.stdout and short_help in proc.stdout, (name, proc.stdout)


def test_help_of_one_command_imports_only_that_command():
    code = ("import sys; from studio.cli import main; main(['info', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith('studio.commands.')))")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: studio info" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "['studio.commands.info']"


def test_every_command_module_is_in_the_table():
    modules = {p.stem for p in (ROOT / "studio" / "commands").glob("*.py") if p.stem != "__init__"}
    assert modules == {target.split(":")[0].rsplit(".", 1)[1] for target, _ in COMMANDS.values()}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_loads_with_its_short_help(name):
    code, out, err = run_cli(name, "--help")
    assert code == 0, err
    assert f"Usage: studio {name}" in out
    command = cli.get_command(click.Context(cli), name)
    assert command.name == name and command.get_short_help_str(200) == COMMANDS[name][1]


def test_a_broken_command_module_fails_loudly():
    group = LazyGroup(name="g", lazy_commands={"gone": ("tests.no_such_module_here:command", "Missing.")})
    assert "gone" in group.list_commands(click.Context(group))
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        group.main(["gone"], standalone_mode=False)


def _device_error(name: str) -> str:
    with pytest.raises(UserError) as info:
        resolve_device(name)
    return f"error: {info.value}\n"


@pytest.mark.parametrize("value", ["gpu", "cuda"])
@pytest.mark.parametrize("name", DEVICE_COMMANDS)
def test_bad_device_is_the_same_one_line_for_every_command(name, value):
    if value == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA: --device cuda is valid here")
    code, out, err = run_cli(name, "--device", value)
    assert code == 2, (out, err)
    assert err == _device_error(value)
    assert "--device" in err and "Traceback" not in err


@pytest.mark.parametrize("name", DEVICE_COMMANDS)
def test_device_defaults_to_auto(name):
    command = cli.get_command(click.Context(cli), name)
    option = next(p for p in command.params if p.name == "device")
    assert option.default == "auto" and "auto" in option.help


# (command, arguments with NVlabs spellings, parameter → expected value)
ALIASES = [
    ("random", ["--network", "m.pkl", "--seeds", "0", "--trunc", "0.5", "--outdir", "o"],
     {"model": "m.pkl", "truncation": 0.5, "out": Path("o")}),
    ("grid", ["--network", "m.pkl", "--trunc", "0.7", "--out", "g.png"], {"model": "m.pkl", "truncation": 0.7}),
    ("metrics", ["fid", "--real", "r", "--network", "m.pkl", "--trunc", "0.6"], {"model": "m.pkl", "truncation": 0.6}),
    ("train", ["dcgan", "--data", "d", "--outdir", "o"], {"out": Path("o")}),
    ("autoencode", ["--network", "a.safetensors", "--data", "d", "--outdir", "o"],
     {"model": "a.safetensors", "out": Path("o")}),
    ("classify", ["--network", "c.safetensors", "--images", "i", "--out", "l.csv"], {"model": Path("c.safetensors")}),
    ("experiment", ["g.yaml", "--outdir", "o"], {"out": Path("o")}),
]


@pytest.mark.parametrize("name,args,expected", ALIASES, ids=[a[0] for a in ALIASES])
def test_nvlabs_aliases_parse_like_the_long_names(name, args, expected):
    command = cli.get_command(click.Context(cli), name)
    with command.make_context(name, list(args)) as ctx:
        for key, value in expected.items():
            assert ctx.params[key] == value, key


def test_random_with_nvlabs_spellings_writes_the_same_images(tiny_models, tmp_path):
    long = ["--model", "builtin:tiny", "--truncation", "0.5", "--out", str(tmp_path / "a")]
    nv = ["--network", "builtin:tiny", "--trunc", "0.5", "--outdir", str(tmp_path / "b")]
    for args in (long, nv):
        code, _, err = run_cli("random", "--seeds", "3,4", "--device", "cpu", "--quiet", *args)
        assert code == 0, err
    for name in ("seed0003.png", "seed0004.png"):
        a = np.asarray(Image.open(tmp_path / "a" / name))
        assert np.array_equal(a, np.asarray(Image.open(tmp_path / "b" / name)))
    default = ["--model", "builtin:tiny", "--out", str(tmp_path / "c")]
    assert run_cli("random", "--seeds", "3", "--device", "cpu", "--quiet", *default)[0] == 0
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "c" / "seed0003.png")),
                              np.asarray(Image.open(tmp_path / "a" / "seed0003.png")))
