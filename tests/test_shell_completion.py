"""Shell completion, run in the real shells: bash (the completion function called as bash calls
it), zsh (an interactive zsh in a pseudo-terminal, Tab pressed, compadd's matches captured) and
fish (``complete -C``). A shell that is not installed skips its tests; under CI=true it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, cli, imported_modules, imports_torch, netspec

import netspec as ns
from netspec.bundled import bundled_names
from netspec.cli import _parser, main
from netspec.cli.completion import commands
from netspec.cli.completion_scripts import script

SHELLS = ("bash", "zsh", "fish")

# zsh: an interactive zsh in a zpty; compadd is wrapped to print each match it adds, and the
# completion's post-function prints an end mark and leaves. $1: a folder on fpath; $2: the line;
# $3: compinit's dump, written by the first run (compinit reads every completion function on
# fpath, 0.8 s, to write it) and read by the others, as a user's zsh does with its ~/.zcompdump.
# The marks are written split ('<<<st''art>>>'), so that the terminal's echo of what is typed,
# which may come at any time on a busy machine, never contains one: only their output does.
ZSH_CAPTURE = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT='' PS2=''"
zpty -w z "fpath=(${(q)1} \$fpath)"
zpty -w z "autoload -U compinit; compinit -u -d ${(q)3}"
zpty -w z "zstyle ':completion:*' list-grouped false"
zpty -w z "zstyle ':completion:*' insert-tab false"
zpty -w z "bindkey '^I' complete-word"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __hits; builtin compadd -A __hits "$@"
  (( $#__hits )) || return 1
  print -rl -- "<<<h""it>>>"${^__hits}
  builtin compadd "$@"
}'
zpty -w z 'comppostfuncs=(__end); __end() { print -r -- "<<<e""nd>>>"; exit }'
zpty -w z "print -r -- '<<<st''art>>>'"
zpty -n -w z "$2"$'\t'
local line started=0
while zpty -r z line; do
  line=${line//$'\r'/}
  if [[ $line == *'<<<start>>>'* ]]; then started=1; continue; fi
  (( started )) || continue
  [[ $line == *'<<<end>>>'* ]] && break
  [[ $line == *'<<<hit>>>'* ]] && print -r -- ${line#*<<<hit>>>}
done
zpty -d z
"""

# bash: the words as COMP_WORDS, the one being completed at COMP_CWORD, and COMPREPLY printed
BASH_CALL = """
source "$1"; shift
cword=$1; shift
COMP_WORDS=("$@"); COMP_CWORD=$cword; COMPREPLY=()
_netspec
printf '%s\\n' "${COMPREPLY[@]}"
"""


def need(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{shell} is not installed; CI tests its completion")
        pytest.skip(f"{shell} is not installed")
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the scripts and a ``netspec`` on PATH that runs this checkout's netspec."""
    home = tmp_path_factory.mktemp("home")
    (home / "bin").mkdir()
    launcher = home / "bin" / "netspec"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m netspec "$@"\n')
    launcher.chmod(0o755)
    (home / "zsh").mkdir()
    for shell, path in [("bash", "netspec.bash"), ("zsh", "zsh/_netspec"), ("fish", "n.fish")]:
        (home / path).write_text(script(shell, commands(_parser())))  # as `netspec completion`
    return home


def complete(shell: str, home: Path, line: str, cword: int | None = None) -> list[str]:
    """What ``shell`` offers at the end of ``line`` (bash: at word ``cword`` if given)."""
    env = {
        **os.environ,
        "PATH": f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    if shell == "bash":
        words = line.split(" ")
        at = str(len(words) - 1 if cword is None else cword)
        argv = [need("bash"), "--norc", "--noprofile", "-c", BASH_CALL, "bash"]
        argv += [str(home / "netspec.bash"), at, *words]
    elif shell == "zsh":
        argv = [need("zsh"), "-f", "-c", ZSH_CAPTURE, "zsh", str(home / "zsh"), line]
        argv.append(str(home / "zcompdump"))
    else:
        script = "source $argv[1]; complete -C $argv[2]"
        argv = [need("fish"), "--no-config", "-c", script, str(home / "n.fish"), line]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    offered = [o.split("\t")[0] for o in proc.stdout.splitlines() if o.strip()]
    return sorted(set(offered))


def visible_commands() -> list[str]:
    return sorted(c.name for c in commands(_parser()) if c.name)


@pytest.mark.parametrize("shell", SHELLS)
def test_commands_are_completed(shell, home):
    assert complete(shell, home, "netspec che") == ["check"]
    offered = complete(shell, home, "netspec ")
    assert offered == visible_commands()
    assert "completion" in offered and "__complete" not in offered


@pytest.mark.parametrize("shell", SHELLS)
def test_an_option_of_render_and_its_formats(shell, home):
    assert complete(shell, home, "netspec render --f") == ["--format"]
    assert complete(shell, home, "netspec render lenet --format ") == ["dot", "pdf", "png", "svg"]
    assert complete(shell, home, "netspec render lenet --rankdir ") == ["LR", "TB"]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_bundled_spec_name_by_its_prefix(shell, home):
    wanted = sorted(n for n in bundled_names() if n.startswith("torchvision/res"))
    assert len(wanted) >= 2
    assert complete(shell, home, "netspec check lenet torchvision/res") == wanted
    assert complete(shell, home, "netspec new mine --from torchvision/res") == wanted


@pytest.mark.parametrize("shell", SHELLS)
def test_the_scales_of_the_spec_on_the_line(shell, home):
    scales = sorted(ns.load("ultralytics/yolov8").scales)
    assert len(scales) > 1
    assert complete(shell, home, "netspec check ultralytics/yolov8 --scale ") == scales
    assert complete(shell, home, "netspec check lenet --scale ") == []  # it has none
    # the older version's scale in render --diff, as for --scale
    assert complete(shell, home, "netspec render ultralytics/yolov8 --diff-scale ") == scales


@pytest.mark.parametrize("shell", SHELLS)
def test_spec_files_and_output_files(shell, home):
    # zsh's _files adds a file's name after its folder, which it keeps apart
    offered = [Path(o).name for o in complete(shell, home, "netspec check specs/torchvision/res")]
    assert "resnet18.yaml" in offered
    offered = [Path(o).name for o in complete(shell, home, "netspec render lenet -o tests/")]
    assert "conftest.py" in offered  # -o takes any file


def test_bash_completes_a_scale_before_the_spec_and_after_an_equals_sign(home):
    scales = sorted(ns.load("ultralytics/yolov8").scales)
    assert complete("bash", home, "netspec check --scale  ultralytics/yolov8", cword=3) == scales
    # bash splits --scale=s at its "=" (COMP_WORDBREAKS)
    assert complete("bash", home, "netspec build ultralytics/yolov8 --scale = ") == scales
    assert complete("bash", home, "netspec render lenet --format = p") == ["pdf", "png"]
    at_equals = "netspec check --scale = ultralytics/yolov8"
    assert complete("bash", home, at_equals, cword=3) == scales


def test_every_option_of_every_command_is_completed(home):
    """The scripts are written from the parser: an option added there is completed."""
    for command in commands(_parser())[1:]:
        flags = sorted(f for o in command.options for f in o.flags)
        assert complete("bash", home, f"netspec {command.name} -") == flags, command.name


def answered(capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
    code = main(["__complete", *words])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_hidden_command_answers_without_torch(capsys):
    names = "".join(f"{n}\n" for n in bundled_names())
    assert answered(capsys, "specs") == (0, names, "")
    scales = "".join(f"{n}\n" for n in ns.load("ultralytics/yolov8").scales)
    words = ("render", "--format", "svg", "-o", "x.yaml", "ultralytics/yolov8", "--scale", "")
    assert answered(capsys, "scales", *words) == (0, scales, "")
    for unreadable in ("no_such.yaml", "nopenet", "specs", "/dev/null", "README.md"):
        assert answered(capsys, "scales", "check", unreadable) == (0, "", "")
    assert answered(capsys, "nonsense") == (2, "", "")
    assert not imports_torch(imported_modules("__complete", "scales", "check", "unet"))


def test_the_hidden_command_is_in_no_help_or_hint(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    helped = capsys.readouterr().out
    assert "completion" in helped and "__complete" not in helped
    with pytest.raises(SystemExit):
        main(["chek"])
    hint = capsys.readouterr().err
    assert "completion" in hint and "__complete" not in hint


def test_completion_prints_each_script_and_refuses_other_shells():
    """The first as a user runs the command (a fresh process), the others in this one."""
    for shell in SHELLS:
        run = (netspec if shell == SHELLS[0] else cli)("completion", shell)
        assert (run.code, run.out, run.err) == (0, script(shell, commands(_parser())), "")
    run = cli("completion", "tcsh")
    assert run.code == 2
    assert run.err.endswith('invalid choice: "tcsh": valid choices: bash, fish, zsh\n')
