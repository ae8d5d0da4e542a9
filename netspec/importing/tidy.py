"""What a person would not write, tidied away before a traced tree is folded."""

from __future__ import annotations

from torch import fx

from .trace import Group, Layer


def tidy(root: Group) -> dict[fx.Node, fx.Node]:
    """What a person would not write: a ``torch.cat`` of one tensor (an identity: its readers
    read that tensor); a module's leading join of tensors from outside it (DenseNet's
    ``torch.cat`` at the top of each dense layer), which moves out in front of the module so
    that the module reads one tensor and can be a block; and a join of what an earlier join
    joined and more, which joins the earlier one's output instead (the same tensor, since
    concatenation is associative). Returns the identities' aliases."""
    alias: dict[fx.Node, fx.Node] = {}

    def visit(group: Group) -> None:
        kept: list[Layer | Group] = []
        for item in group.items:
            if isinstance(item, Group):
                visit(item)
                kept.append(item)
                continue
            item.sources = [alias.get(s, s) for s in item.sources]
            if item.kind == "identity" and item.module is None and len(item.sources) == 1:
                alias[item.node] = item.sources[0]
            else:
                kept.append(item)
        group.items = kept

    def hoist(group: Group) -> None:
        items: list[Layer | Group] = []
        for item in group.items:
            if isinstance(item, Group):
                hoist(item)
                lead = item.items[0] if item.items else None
                if isinstance(lead, Layer) and item.name is not None and _joins_outside(item):
                    items.append(lead)
                    item.items = item.items[1:]
            items.append(item)
        group.items = items

    def running(group: Group) -> None:
        joins: list[tuple[fx.Node, list[fx.Node]]] = []  # each join's output and what it read
        for item in group.items:
            if isinstance(item, Group):
                running(item)
            elif item.kind == "concat" and item.module is None:
                read = item.sources
                for node, earlier in reversed(joins):
                    n = len(earlier)
                    if 1 < n < len(read) and read[:n] == earlier:
                        item.sources = [node, *read[n:]]
                        break
                joins.append((item.node, read))

    visit(root)
    hoist(root)
    running(root)
    return alias


def _joins_outside(group: Group) -> bool:
    """The group starts with a call in a forward that reads only tensors from outside, and
    without it the group would read one tensor, the call's."""
    lead = group.items[0]
    if not isinstance(lead, Layer) or lead.module is not None or len(group.items) < 2:
        return False
    rest = [layer for layer in group.layers() if layer is not lead]
    made = {layer.node for layer in rest}
    outside = {s for layer in rest for s in layer.sources if s not in made}
    return outside == {lead.node} and not (set(lead.sources) & (made | {lead.node}))
