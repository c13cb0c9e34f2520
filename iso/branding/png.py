#!/usr/bin/env python3
"""png.py: the PNG work iso/build.sh needs, with nothing but the Python standard library.

    png.py size FILE                  prints "WIDTH HEIGHT" (fails on what is not a PNG)
    png.py fit IN OUT WIDTH HEIGHT    scales IN to cover WIDTHxHEIGHT (aspect kept, centre
                                      cropped, nearest neighbour) and writes an 8-bit RGB OUT
    png.py defaults DIR               writes the default splash.png (640x480) and
                                      background.png (1280x720) into DIR

The boot menus need an exact size: isolinux's vesamenu shows its background only at the menu's
resolution (640x480), so build.sh fits SPLASH.png to it. Reads 8-bit grey, grey+alpha, RGB,
RGBA and palette images, not interlaced (alpha is dropped onto black); anything else is refused
with a message naming the image.
"""
import struct
import sys
import zlib

SIG = b"\x89PNG\r\n\x1a\n"


class PngError(Exception):
    pass


def _chunks(data):
    pos = len(SIG)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != SIG or head[12:16] != b"IHDR":
        raise PngError(f"{path}: not a PNG image")
    return struct.unpack(">II", head[16:24])


def read(path):
    """Returns (width, height, rows): rows is a list of bytes objects, 3 bytes per pixel."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != SIG:
        raise PngError(f"{path}: not a PNG image")
    ihdr, idat, palette = None, [], None
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if ihdr is None:
        raise PngError(f"{path}: no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace != 0:
        raise PngError(f"{path}: only 8-bit, non-interlaced grey/RGB/RGBA/palette PNGs are "
                       f"read here (depth {depth}, colour type {ctype}, interlace {interlace}); "
                       "convert it, e.g. convert IN -depth 8 -interlace none OUT.png")
    if ctype == 3 and not palette:
        raise PngError(f"{path}: palette image without PLTE")
    raw = zlib.decompress(b"".join(idat))
    stride = w * channels
    prev = bytearray(stride)
    rows = []
    pos = 0
    bpp = channels
    for _ in range(h):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif ftype != 0:
            raise PngError(f"{path}: bad filter type {ftype}")
        prev = line
        if ctype == 2:
            rgb = bytes(line)
        elif ctype == 6:
            rgb = bytearray(w * 3)
            for x in range(w):
                r, g, b, a = line[4 * x:4 * x + 4]
                rgb[3 * x:3 * x + 3] = bytes((r * a // 255, g * a // 255, b * a // 255))
            rgb = bytes(rgb)
        elif ctype == 0:
            rgb = bytes(v for v in line for _ in range(3))
        elif ctype == 4:
            rgb = bytes(line[2 * x] * line[2 * x + 1] // 255 for x in range(w) for _ in range(3))
        else:
            rgb = b"".join(palette[3 * i:3 * i + 3] for i in line)
        rows.append(rgb)
    return w, h, rows


def write(path, w, h, rows):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def fit(src, dst, W, H):
    w, h, rows = read(src)
    scale = max(W / w, H / h)                    # cover: no border, the overflow is cropped
    ox = (w * scale - W) / 2
    oy = (h * scale - H) / 2
    xs = [min(w - 1, int((x + ox) / scale)) for x in range(W)]
    out = []
    for y in range(H):
        row = rows[min(h - 1, int((y + oy) / scale))]
        line = bytearray(W * 3)
        for x, sx in enumerate(xs):
            line[3 * x:3 * x + 3] = row[3 * sx:3 * sx + 3]
        out.append(bytes(line))
    write(dst, W, H, out)


# A 5x7 bitmap font with the letters the defaults draw.
FONT = {
    "D": ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    "_": ["00000", "00000", "00000", "00000", "00000", "00000", "11111"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    " ": ["00000"] * 7,
}


def _canvas(W, H, top, bottom):
    rows = []
    for y in range(H):
        t = y / (H - 1)
        c = bytes(int(top[i] + (bottom[i] - top[i]) * t) for i in range(3))
        rows.append(bytearray(c * W))
    return rows


def _text(rows, text, cx, cy, px, colour):
    width = len(text) * 6 * px - px
    x0, y0 = cx - width // 2, cy - 7 * px // 2
    for n, ch in enumerate(text):
        for gy, bits in enumerate(FONT[ch]):
            for gx, bit in enumerate(bits):
                if bit == "1":
                    for y in range(y0 + gy * px, y0 + (gy + 1) * px):
                        x = x0 + (n * 6 + gx) * px
                        rows[y][3 * x:3 * (x + px)] = bytes(colour) * px


def _disc(rows, cx, cy, r, colour):
    for y in range(cy - r, cy + r + 1):
        dx = int((r * r - (y - cy) ** 2) ** 0.5)
        rows[y][3 * (cx - dx):3 * (cx + dx + 1)] = bytes(colour) * (2 * dx + 1)


def defaults(outdir):
    # The splash (boot menu): dark blue, a gold coin, the name. The menu text sits below it.
    W, H = 640, 480
    rows = _canvas(W, H, (12, 24, 56), (4, 8, 20))
    _disc(rows, W // 2, 120, 56, (232, 182, 40))
    _disc(rows, W // 2, 120, 44, (250, 210, 80))
    _text(rows, "D", W // 2, 120, 8, (120, 80, 0))
    _text(rows, "DUX_OS", W // 2, 232, 8, (240, 240, 245))
    write(f"{outdir}/splash.png", W, H, rows)
    # The background (wallpaper): the same colours, wider, with the tag line.
    W, H = 1280, 720
    rows = _canvas(W, H, (10, 20, 48), (2, 4, 12))
    _disc(rows, W // 2, 250, 90, (232, 182, 40))
    _disc(rows, W // 2, 250, 72, (250, 210, 80))
    _text(rows, "D", W // 2, 250, 12, (120, 80, 0))
    _text(rows, "DUX_OS", W // 2, 430, 12, (240, 240, 245))
    _text(rows, "COMPUTE MESH", W // 2, 530, 5, (150, 170, 210))
    write(f"{outdir}/background.png", W, H, rows)


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "size":
            print(*size(argv[2]))
        elif len(argv) == 6 and argv[1] == "fit":
            fit(argv[2], argv[3], int(argv[4]), int(argv[5]))
        elif len(argv) == 3 and argv[1] == "defaults":
            defaults(argv[2])
        else:
            print(__doc__.strip(), file=sys.stderr)
            return 2
    except (PngError, OSError, zlib.error, ValueError) as e:
        print(f"png.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
