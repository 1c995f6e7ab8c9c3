"""The QR code of a connect link in a terminal, as the C++ client draws it (UTF-8 half
blocks, light modules drawn, a quiet zone of 4 modules) — when the optional `qrcode`
module (Debian's python3-qrcode, or pip's qrcode) is installed. The package itself
depends on no QR library: without one, render() returns None and the CLI prints the
URL alone, as `agleader-client connect --help` says."""

from typing import List, Optional

QUIET_ZONE = 4


def draw(modules: List[List[bool]]) -> str:
    """The drawing of `modules` (True: dark, no quiet zone) with the quiet zone added."""
    width = len(modules)
    size = width + 2 * QUIET_ZONE

    def dark(y: int, x: int) -> bool:
        y, x = y - QUIET_ZONE, x - QUIET_ZONE
        return 0 <= y < width and 0 <= x < width and bool(modules[y][x])

    lines = []
    for y in range(0, size, 2):
        line = []
        for x in range(size):
            top = not dark(y, x)
            bottom = y + 1 < size and not dark(y + 1, x)
            line.append("\u2588" if top and bottom else "\u2580" if top else "\u2584" if bottom else " ")
        lines.append("".join(line) + "\n")
    return "".join(lines)


def render(text: str) -> Optional[str]:
    """The drawing of `text`'s QR code (error correction M), or None without a QR
    library."""
    try:
        import qrcode  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    return draw(code.get_matrix())
