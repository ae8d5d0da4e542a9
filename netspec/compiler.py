"""From a checked network to a plain ``nn.Module`` tree (imports torch).

Each kind builds its own module; the tree's names follow the spec, so ``state_dict`` keys read
like the YAML (``stage2.0.body.conv1.weight``). Nothing is interpreted at run time.

Example::

    model = compile_spec(infer_shapes(program))
"""

from __future__ import annotations

from torch import nn

from .ir import Checked


def compile_spec(checked: Checked) -> nn.Module:
    """Build the module for a checked network (or any checked sub-tree)."""
    return _Builder().module(checked)


class _Builder:
    """The :class:`~netspec.registry.BuildContext` handed to composite kinds."""

    def module(self, checked: Checked) -> nn.Module:
        return checked.node.kind.build(checked, self)
