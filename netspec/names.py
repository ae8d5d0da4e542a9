"""Tensor names in their scopes: what ``from:`` and ``to:`` refer to, for the shape pass.

A scope (:class:`~netspec.ir.Scope`) is the network or one call of a block; its names are
bound in the order the layers run, a name given again hiding the earlier tensor. A name is
looked up where it is used; one never read is a warning at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Diagnostic, NetspecError, did_you_mean
from .ir import Node, Scope, Value
from .source import Document, PathKey


@dataclass(eq=False)
class Binding:
    """A named tensor in a scope: the value, where the name was given, whether it was read."""

    value: Value
    site: tuple[Document, PathKey] | None
    used: bool = False


@dataclass(eq=False)
class Names:
    """The names bound in one scope so far, and every binding made there."""

    scope: Scope
    names: dict[str, Binding] = field(default_factory=dict)
    #: every binding ever made here (a name given again shadows the earlier one)
    history: list[tuple[str, Binding]] = field(default_factory=list)

    def bind(self, name: str, binding: Binding) -> None:
        self.names[name] = binding
        self.history.append((name, binding))


class Tensors:
    """The names of every scope of one network, and which tensors some layer reads."""

    def __init__(self) -> None:
        self.envs: dict[Scope, Names] = {}
        self.read: set[int] = set()  # the tensors (by id) that some layer reads, or handed back

    def env(self, scope: Scope, inputs: list[Value]) -> Names:
        """The names of ``scope``; a scope entered for the first time binds its inputs."""
        found = self.envs.get(scope)
        if found is None:
            found = self.envs[scope] = Names(scope)
            for name, value in zip(scope.inputs, inputs, strict=False):
                found.bind(name, Binding(value, None, used=True))
        return found

    def lookup(self, env: Names, name: str, node: Node, where: PathKey) -> Value:
        binding = env.names.get(name)
        if binding is not None:
            binding.used = True
            return binding.value
        doc, at = node.site or (node.doc, node.path)
        scope = env.scope
        notes: tuple[str, ...] = ()
        if name in scope.made:
            made_doc, made_at = scope.made[name]
            pos = made_doc.pos(made_at, key=False)
            line = f"{made_doc.file}:{pos.line}:{pos.col}" if pos else made_doc.file
            message = f'tensor "{name}" is used before it is made'
            notes = (f'"{name}" is made at {line}',)
            hint = (
                "layers run in the order they are written: read it after the layer that "
                "makes it (a layer that reads its own output would be a cycle)"
            )
        elif name in scope.skipped:
            message = f'tensor "{name}" is made only by a layer that is left out here (if: false)'
            hint = "read it under the same condition, or give the layer an if: that holds"
        else:
            message = f'unknown tensor "{name}"'
            hint = did_you_mean(name, env.names, "tensor names here")
            if scope.label:
                message += f" in block {scope.label}"
                hint += "; a block sees only its own names and its inputs"
        raise NetspecError(
            [doc.diagnostic((*at, *where), message, hint, notes=(*node.trace, *notes))]
        )

    def output(self, env: Names, name: str, index: int) -> Value:
        """A tensor that a block or the network hands back, by the name its outputs: give."""
        binding = env.names.get(name)
        if binding is not None:
            binding.used = True
            return binding.value
        assert env.scope.declared is not None  # a scope with outputs says where
        doc, at = env.scope.declared
        key = name if at == ("outputs",) else index
        hint = did_you_mean(name, env.names, "tensor names at the end")
        if name in env.scope.skipped:
            hint = "the layer that makes it is left out by its if:; " + hint
        raise NetspecError(
            [
                doc.diagnostic(
                    (*at, key),
                    f'output "{name}" is never made',
                    f"name a tensor with to: {name}; {hint}",
                    key=at == ("outputs",),
                )
            ]
        )

    def unused(self) -> list[Diagnostic]:
        """Warnings for the named tensors that nothing reads."""
        # a block's name is judged over all its calls: a tensor that only some calls read
        # (`add: {from: [input, y], if: ...}`) is used, and an unread one is reported once
        read = {
            (b.site[0].file, b.site[1])
            for env in self.envs.values()
            for _, b in env.history
            if b.used and b.site is not None
        }
        out: dict[tuple[Any, ...], Diagnostic] = {}
        for env in self.envs.values():
            for name, binding in env.history:
                scope = env.scope
                if binding.used or binding.site is None or name in (*scope.outputs, *scope.read_if):
                    continue
                if id(binding.value) in self.read:  # read without its name: the next layer
                    continue
                if (binding.site[0].file, binding.site[1]) in read:
                    continue
                doc, at = binding.site
                found = doc.diagnostic(
                    at,
                    f'tensor "{name}" is never used',
                    "read it with from:, or drop the to:",
                    severity="warning",
                )
                out.setdefault((found.sort_key(), found.message), found)
        return sorted(out.values(), key=Diagnostic.sort_key)
