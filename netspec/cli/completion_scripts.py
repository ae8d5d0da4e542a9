"""The completion scripts of bash, zsh and fish, written from :func:`completion.commands`.

Each script completes commands and options itself, and calls ``netspec __complete`` back for
the bundled names and a spec's scales. Flags and choices are written into the scripts as shell
words, so each is checked to be one (:func:`_word`); help texts are quoted.
"""

from __future__ import annotations

import re

from .completion import HIDDEN, Command, Option, Value

SHELLS = ("bash", "zsh", "fish")


def script(shell: str, commands: list[Command]) -> str:
    """The completion script of ``shell`` (one of :data:`SHELLS`)."""
    writers = {"bash": bash, "zsh": zsh, "fish": fish}
    return writers[shell](commands)


def _word(text: str) -> str:
    """A flag, command or choice, written into a script unquoted: so it must need no quoting."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*|--?[A-Za-z0-9][A-Za-z0-9_-]*", text):
        raise ValueError(f"{text!r} cannot be completed as a plain shell word")
    return text


# bash ----------------------------------------------------------------------------------------

_BASH_HEAD = f"""\
# bash completion for netspec, from `netspec completion bash`. In ~/.bashrc:
#     eval "$(netspec completion bash)"

_netspec_specs() {{
    local f
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -W "$(netspec {HIDDEN} specs 2>/dev/null)" -- "$1")
    while IFS= read -r f; do
        if [[ -d $f || $f == *.yaml || $f == *.yml ]]; then COMPREPLY+=("$f"); fi
    done < <(compgen -f -- "$1")
}}

_netspec_files() {{
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$1")
}}

_netspec_scales() {{
    # every word but netspec; one split at "=" has its value to come: "" stands for it
    local words=("${{COMP_WORDS[@]:1}}")
    if [[ ${{COMP_WORDS[COMP_CWORD]}} == = ]]; then words[COMP_CWORD-1]=""; fi
    mapfile -t COMPREPLY < <(compgen -W "$(netspec {HIDDEN} scales "${{words[@]}}" \\
        2>/dev/null)" -- "$1")
}}

_netspec() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} command="" i
    # bash splits --format=svg at the "=": complete the value after it
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]]; then
        prev=${{COMP_WORDS[COMP_CWORD-2]}}
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${{COMP_WORDS[i]}} != -* ]]; then command=${{COMP_WORDS[i]}}; break; fi
    done
    COMPREPLY=()
    case $command in
"""

_BASH_FUNCTIONS = {
    Value.SPEC: "_netspec_specs",
    Value.FILE: "_netspec_files",
    Value.SCALE: "_netspec_scales",
}


def bash(commands: list[Command]) -> str:
    """The bash script: ``eval "$(netspec completion bash)"``."""
    cases = [_bash_case(c, commands) for c in commands]
    tail = "    esac\n}\n\ncomplete -F _netspec netspec\n"
    return _BASH_HEAD + "".join(cases) + tail


def _bash_case(command: Command, commands: list[Command]) -> str:
    by_value: dict[str, list[str]] = {}  # options completed alike share a branch
    for option in command.options:
        if option.value is not Value.NONE:
            code = _bash_value(option.value, option.choices)
            by_value.setdefault(code, []).extend(map(_word, option.flags))
    values = "".join(
        f"            {'|'.join(flags)}) {code}; return ;;\n" for code, flags in by_value.items()
    )
    flags = tuple(f for o in command.options for f in o.flags)
    if command.name:
        rest = _bash_value(command.positional, command.choices)
    else:  # netspec itself: its commands
        rest = _bash_value(Value.CHOICE, tuple(c.name for c in commands if c.name))
    prev = f"        case $prev in\n{values}        esac\n" if values else ""
    label = _word(command.name) if command.name else '""'
    return (
        f"    {label})\n{prev}"
        f"        if [[ $cur == -* ]]; then {_bash_value(Value.CHOICE, flags)}\n"
        f"        else {rest}\n        fi ;;\n"
    )


def _bash_value(value: Value, choices: tuple[str, ...]) -> str:
    """The bash that fills COMPREPLY with what may stand for a value (the word is ``$cur``)."""
    if value is Value.CHOICE:
        words = " ".join(map(_word, choices))
        return f'mapfile -t COMPREPLY < <(compgen -W "{words}" -- "$cur")'
    if value in _BASH_FUNCTIONS:
        return f'{_BASH_FUNCTIONS[value]} "$cur"'
    return ":"  # free text: nothing to offer


# zsh -----------------------------------------------------------------------------------------

_ZSH_HEAD = f"""\
#compdef netspec
# zsh completion for netspec, from `netspec completion zsh`. Save it as _netspec in a folder
# on $fpath (before compinit runs), or, in ~/.zshrc after compinit:
#     source <(netspec completion zsh)

_netspec_specs() {{
    local -a names
    names=(${{(f)"$(netspec {HIDDEN} specs 2>/dev/null)"}})
    _alternative 'specs:bundled spec:compadd -a names' \\
        'files:spec file:_files -g "*.(yaml|yml)"'
}}

_netspec_scales() {{
    local -a names expl
    names=(${{(f)"$(netspec {HIDDEN} scales "${{words[@]}}" 2>/dev/null)"}})
    _wanted scales expl scale compadd -a names
}}

_netspec() {{
    local curcontext=$curcontext state line ret=1
    _arguments -C \\
"""

_ZSH_ACTIONS = {
    Value.SPEC: "_netspec_specs",
    Value.FILE: "_files",
    Value.SCALE: "_netspec_scales",
    Value.TEXT: " ",
}


def zsh(commands: list[Command]) -> str:
    """The zsh script: a ``_netspec`` for ``$fpath``, which also registers itself when sourced."""
    top, subcommands = commands[0], commands[1:]
    described = "".join(
        f"                {_zsh_quote(_word(c.name) + ':' + c.help)}\n" for c in subcommands
    )
    cases = "".join(
        f"                {_word(c.name)})\n                    _arguments \\\n"
        + _zsh_specs(c, "                        ")
        + " && ret=0 ;;\n"
        for c in subcommands
    )
    return (
        _ZSH_HEAD
        + "".join(f"        {_zsh_option(o)} \\\n" for o in top.options)
        + "        '1: :->command' \\\n        '*:: :->argument' && ret=0\n"
        + "    case $state in\n        command)\n            local -a commands\n"
        + f"            commands=(\n{described}            )\n"
        + "            _describe -t commands 'netspec command' commands && ret=0 ;;\n"
        + "        argument)\n            curcontext=${curcontext%:*:*}:netspec-$words[1]:\n"
        + f"            case $words[1] in\n{cases}            esac ;;\n    esac\n"
        + "    return ret\n}\n\n"
        + 'if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n    _netspec "$@"\n'
        + "else\n    compdef _netspec netspec\nfi\n"
    )


def _zsh_specs(command: Command, indent: str) -> str:
    specs = [_zsh_option(o) for o in command.options]
    if command.positional is not Value.NONE:
        action = _zsh_action(command.positional, command.choices)
        message = _zsh_escape(command.metavar)
        specs.append(_zsh_quote(f"{'*' if command.many else ''}:{message}:{action}"))
    return " \\\n".join(indent + s for s in specs)


def _zsh_option(option: Option) -> str:
    """One option as ``_arguments`` takes it: ``(-o --output)--output=[help]:FILE:_files``."""
    shown = _zsh_escape(option.help.replace("[", "(").replace("]", ")"))
    if option.final:
        excluded = "(- *)"
    elif len(option.flags) > 1 and not option.repeats:
        excluded = f"({' '.join(option.flags)})"
    else:
        excluded = ""
    specs = []
    for flag in map(_word, option.flags):
        if option.value is Value.NONE:
            spec = f"{excluded}{flag}[{shown}]"
        else:
            joined = "=" if flag.startswith("--") else "+"
            action = _zsh_action(option.value, option.choices)
            message = _zsh_escape(option.metavar)
            spec = f"{excluded}{flag}{joined}[{shown}]:{message}:{action}"
        specs.append(_zsh_quote(("*" if option.repeats else "") + spec))
    return " ".join(specs)


def _zsh_action(value: Value, choices: tuple[str, ...]) -> str:
    if value is Value.CHOICE:
        return f"({' '.join(map(_word, choices))})"
    return _ZSH_ACTIONS[value]


def _zsh_escape(text: str) -> str:
    """Text inside an ``_arguments`` spec: its colons and backslashes escaped."""
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# fish ----------------------------------------------------------------------------------------

_FISH_HEAD = f"""\
# fish completion for netspec, from `netspec completion fish`. Save it as
# ~/.config/fish/completions/netspec.fish

function __netspec_specs
    netspec {HIDDEN} specs 2>/dev/null
end

function __netspec_scales
    netspec {HIDDEN} scales (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null
end

complete -c netspec -f
"""

_FISH_VALUES = {
    Value.NONE: "",
    Value.SPEC: " -r -F -a '(__netspec_specs)'",
    Value.FILE: " -r -F",
    Value.SCALE: " -x -a '(__netspec_scales)'",
    Value.TEXT: " -x",
}
_FISH_POSITIONALS = {Value.SPEC: " -F -a '(__netspec_specs)'", Value.FILE: " -F"}


def fish(commands: list[Command]) -> str:
    """The fish script, for ``~/.config/fish/completions/netspec.fish``."""
    lines = []
    for command in commands:
        if command.name:
            when = f"'__fish_seen_subcommand_from {_word(command.name)}'"
            lines.append(
                f"complete -c netspec -n __fish_use_subcommand -a {command.name}"
                f" -d {_fish_quote(command.help)}"
            )
        else:
            when = "__fish_use_subcommand"
        lines += [f"complete -c netspec -n {when}{_fish_option(o)}" for o in command.options]
        if command.positional is Value.CHOICE:
            lines.append(
                f"complete -c netspec -n {when} -a '{' '.join(map(_word, command.choices))}'"
            )
        elif command.positional in _FISH_POSITIONALS:
            lines.append(f"complete -c netspec -n {when}{_FISH_POSITIONALS[command.positional]}")
    return _FISH_HEAD + "".join(line + "\n" for line in lines)


def _fish_option(option: Option) -> str:
    flags = ""
    for flag in map(_word, option.flags):
        if flag.startswith("--"):
            flags += f" -l {flag[2:]}"
        elif len(flag) == 2:
            flags += f" -s {flag[1:]}"
        else:
            flags += f" -o {flag[1:]}"
    if option.value is Value.CHOICE:
        value = f" -x -a '{' '.join(map(_word, option.choices))}'"
    else:
        value = _FISH_VALUES[option.value]
    return f"{flags}{value} -d {_fish_quote(option.help)}"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
