"""Plain-text tables for the developer tools: columns aligned, numbers to the right."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, indent: int = 0) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=True)]
    numeric = [all(_numeric(row[i]) for row in cells if row[i]) for i in range(len(headers))]

    def line(texts: Sequence[str]) -> str:
        parts = [text.rjust(width) if right else text.ljust(width)
                 for text, width, right in zip(texts, widths, numeric, strict=True)]
        return " " * indent + "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").lstrip("-").isdigit()
