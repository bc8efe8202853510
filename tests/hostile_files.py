"""Writers of hostile input shared by the tests: YAML whose aliases expand without bound."""


def alias_bomb(levels: int = 9, fan: int = 10) -> str:
    """`levels` lists, each of `fan` aliases of the one before: fan ** levels values in all."""
    lines = [f"a0: &a0 [{', '.join(['x'] * fan)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"
