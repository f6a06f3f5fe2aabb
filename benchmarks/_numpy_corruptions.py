"""Per-image NumPy / SciPy / PIL reference of the 15 corruptions (the benchmark's baseline).

Like the official ``make_cifar_c.py`` (Hendrycks & Dietterich 2019), it corrupts one HWC image at
a time with NumPy, scipy.ndimage and PIL. Where the official script needs libraries that are not
installed here (cv2, Wand, skimage, the frost photographs), it uses the same substitutes as
``robustssl.data.corruptions`` (written independently with NumPy), so both sides compute the same
corruptions. Glass blur keeps the official sequential swap loop. Not part of the package.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from robustssl.data.corruptions import params

Rng = np.random.Generator
LUMA = np.array([0.299, 0.587, 0.114])


def _gauss(img: np.ndarray, sigma: float, mode: str, truncate: float = 4.0) -> np.ndarray:
    return ndimage.gaussian_filter(img, (sigma, sigma, 0), mode=mode, truncate=truncate)


def gaussian_noise(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    return x + rng.normal(scale=params.GAUSSIAN_NOISE[s - 1], size=x.shape)


def shot_noise(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    lam = params.SHOT_NOISE[s - 1]
    return rng.poisson(x * lam) / lam


def impulse_noise(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    flipped = rng.random(x.shape) < params.IMPULSE_NOISE[s - 1]
    salted = rng.random(x.shape) < 0.5
    out = x.copy()
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return out


def disk(radius: float, alias_blur: float) -> np.ndarray:
    """The official aliased disk, smoothed like cv2.GaussianBlur(3×3) (reflect-101 borders)."""
    grid = np.arange(-8, 9)
    xx, yy = np.meshgrid(grid, grid)
    d = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    d /= d.sum()
    g = np.exp(-(np.arange(-1, 2) ** 2) / (2 * alias_blur**2))
    g /= g.sum()
    d = ndimage.correlate1d(d, g, axis=0, mode="mirror")
    return ndimage.correlate1d(d, g, axis=1, mode="mirror")


def defocus_blur(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    kernel = disk(*params.DEFOCUS_BLUR[s - 1])
    chans = [ndimage.correlate(x[:, :, d], kernel, mode="mirror") for d in range(x.shape[2])]
    return np.stack(chans, axis=2)


def glass_blur(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    """The official loop: blur, 8-bit, swap each pixel with a random up-left neighbour, blur."""
    sigma, d, iterations = params.GLASS_BLUR[s - 1]
    h, w = x.shape[:2]
    img = np.uint8(np.clip(_gauss(x, sigma, "nearest"), 0, 1) * 255)
    for _ in range(iterations):
        for i in range(h - d, d, -1):
            for j in range(w - d, d, -1):
                dx, dy = rng.integers(-d, d, size=(2,))
                i2, j2 = i + dy, j + dx
                img[i, j], img[i2, j2] = img[i2, j2], img[i, j].copy()
    return _gauss(img / 255.0, sigma, "nearest")


def motion(img: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """ImageMagick's motion blur: one-sided Gaussian taps along ``angle``, edge pixels repeated."""
    width = 2 * math.ceil(radius) + 1
    i = np.arange(width)
    k = np.exp(-(i * i) / (2 * sigma * sigma))
    k /= k.sum()
    theta = math.radians(angle)
    dx = np.ceil(i * math.cos(theta) - 0.5).astype(int)
    dy = np.ceil(i * math.sin(theta) - 0.5).astype(int)
    h, w = img.shape[:2]
    out = np.zeros_like(img)
    for t in range(width):
        rows = np.clip(np.arange(h) + dy[t], 0, h - 1)
        cols = np.clip(np.arange(w) + dx[t], 0, w - 1)
        out += k[t] * img[rows][:, cols]
    return out


def motion_blur(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    radius, sigma = params.MOTION_BLUR[s - 1]
    return motion(x, radius, sigma, rng.uniform(-45, 45))


def clipped_zoom(img: np.ndarray, z: float) -> np.ndarray:
    """The official clipped_zoom (scipy.ndimage.zoom, order 1), per axis for non-square images."""
    h, w = img.shape[:2]
    ch, cw = math.ceil(h / z), math.ceil(w / z)
    top, left = (h - ch) // 2, (w - cw) // 2
    out = ndimage.zoom(img[top : top + ch, left : left + cw], (z, z, 1), order=1)
    th, tw = (out.shape[0] - h) // 2, (out.shape[1] - w) // 2
    return out[th : th + h, tw : tw + w]


def zoom_blur(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    factors = np.arange(1, (1.06, 1.11, 1.16, 1.21, 1.26)[s - 1], 0.01)
    out = np.zeros_like(x)
    for z in factors:
        out += clipped_zoom(x, z)
    return (x + out) / (len(factors) + 1)


def plasma(size: int, decay: float, rng: Rng) -> np.ndarray:
    """The official diamond-square fractal in [0, 1] (size a power of two)."""
    m = np.zeros((size, size))
    step, wibble = size, 100.0

    def wibbled(a: np.ndarray) -> np.ndarray:
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        ul = m[0::step, 0::step]
        sq = ul + np.roll(ul, -1, axis=0)
        m[half::step, half::step] = wibbled(sq + np.roll(sq, -1, axis=1))
        dr, ul = m[half::step, half::step], m[0::step, 0::step]
        m[0::step, half::step] = wibbled(dr + np.roll(dr, 1, 0) + ul + np.roll(ul, -1, 1))
        m[half::step, 0::step] = wibbled(dr + np.roll(dr, 1, 1) + ul + np.roll(ul, -1, 0))
        step, wibble = half, wibble / decay
    m -= m.min()
    return m / m.max()


def _plasma_size(h: int, w: int) -> int:
    return 1 << max(1, (max(h, w) - 1).bit_length())


def snow(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    mean, std, zoom, thr, radius, sigma, blend = params.SNOW[s - 1]
    h, w = x.shape[:2]
    layer = clipped_zoom(rng.normal(mean, std, (h, w, 1)), zoom)
    layer[layer < thr] = 0
    layer = np.uint8(np.clip(layer, 0, 1) * 255) / 255.0
    layer = motion(layer, radius, sigma, rng.uniform(-135, -45))
    gray = x @ LUMA[:, None] if x.shape[2] == 3 else x
    x = blend * x + (1 - blend) * np.maximum(x, gray * 1.5 + 0.5)
    return x + layer + np.rot90(layer, k=2)


def frost_texture(h: int, w: int, c: int, rng: Rng) -> np.ndarray:
    """Procedural frost: rough plasma haze plus ice needles in three random directions."""
    haze = plasma(_plasma_size(h, w), 1.6, rng)[:h, :w, None]
    seeds = (rng.random((h, w, 1)) < 0.04).astype(np.float64)
    length = max(2.0, min(h, w) / 8)
    needles = sum(motion(seeds, length, length / 2, rng.uniform(0, 360)) for _ in range(3))
    needles /= max(needles.max(), 1e-12)
    tex = np.clip(0.1 + 0.5 * haze + 0.6 * np.sqrt(needles), 0, 1)
    return tex if c == 1 else tex * np.array([0.88, 0.94, 1.0])


def frost(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    a, b = params.FROST[s - 1]
    return a * x + b * frost_texture(*x.shape, rng)


def fog(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    strength, decay = params.FOG[s - 1]
    h, w = x.shape[:2]
    peak = x.max()
    x = x + strength * plasma(_plasma_size(h, w), decay, rng)[:h, :w, None]
    return x * peak / (peak + strength)


def rgb2hsv(x: np.ndarray) -> np.ndarray:
    """skimage's rgb2hsv (hexcone): hue in [0, 1), S = chroma / V (0 for black)."""
    v = x.max(axis=2)
    delta = v - x.min(axis=2)
    sat = np.where(v > 0, delta / np.where(v > 0, v, 1), 0)
    safe = np.where(delta > 0, delta, 1)
    r, g, b = (x[:, :, i] for i in range(3))
    hue = np.where(v == r, (g - b) / safe, np.where(v == g, 2 + (b - r) / safe, 4 + (r - g) / safe))
    hue = np.where(delta > 0, (hue / 6) % 1, 0)
    return np.stack((hue, sat, v), axis=2)


def hsv2rgb(hsv: np.ndarray) -> np.ndarray:
    """skimage's hsv2rgb: the six hexcone sectors."""
    h, s, v = (hsv[:, :, i] for i in range(3))
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros(hsv.shape)
    for sector, rgb in enumerate(table):
        mask = i == sector
        for ch in range(3):
            out[:, :, ch][mask] = rgb[ch][mask]
    return out


def brightness(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    c = params.BRIGHTNESS[s - 1]
    if x.shape[2] == 1:
        return np.clip(x + c, 0, 1)
    hsv = rgb2hsv(x)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + c, 0, 1)
    return hsv2rgb(hsv)


def contrast(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    c = params.CONTRAST[s - 1]
    means = x.mean(axis=(0, 1), keepdims=True)
    return (x - means) * c + means


def _affine_warp(x: np.ndarray, jitter: float, rng: Rng) -> np.ndarray:
    """cv2.warpAffine (bilinear, reflect-101) with the official random 3-point affine."""
    h, w = x.shape[:2]
    cx, cy, sq = w // 2, h // 2, min(h, w) // 3
    src = np.array([[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]], dtype=float)
    dst = src + rng.uniform(-jitter, jitter, size=src.shape)
    m = np.linalg.solve(np.hstack((src, np.ones((3, 1)))), dst).T
    inv = np.linalg.inv(m[:, :2])
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    pts = np.stack((xs.ravel(), ys.ravel())) - m[:, 2:]
    sx, sy = inv @ pts
    chans = [
        ndimage.map_coordinates(x[:, :, d], [sy, sx], order=1, mode="mirror").reshape(h, w)
        for d in range(x.shape[2])
    ]
    return np.stack(chans, axis=2)


def elastic_transform(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    h, w, c = x.shape
    side = min(h, w)
    alpha, sigma, jitter = (side * v for v in params.ELASTIC[s - 1])
    x = _affine_warp(x, jitter, rng)
    if alpha == 0:
        return x
    fields = [
        ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma, mode="reflect", truncate=3)
        * alpha
        for _ in range(2)
    ]
    dx, dy = fields
    yy, xx, zz = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    coords = [(yy + dy[..., None]).ravel(), (xx + dx[..., None]).ravel(), zz.ravel()]
    return ndimage.map_coordinates(x, coords, order=1, mode="reflect").reshape(h, w, c)


def _to_pil(x: np.ndarray) -> Image.Image:
    arr = np.uint8(np.clip(x, 0, 1) * 255 + 0.5)
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


def _from_pil(img: Image.Image, c: int) -> np.ndarray:
    arr = np.asarray(img, dtype=np.float64) / 255.0
    return arr[:, :, None] if c == 1 else arr


def pixelate(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    h, w, c = x.shape
    f = params.PIXELATE[s - 1]
    img = _to_pil(x).resize((max(1, int(w * f)), max(1, int(h * f))), Image.BOX)
    return _from_pil(img.resize((w, h), Image.BOX), c)


def jpeg_compression(x: np.ndarray, s: int, rng: Rng) -> np.ndarray:
    buf = io.BytesIO()
    _to_pil(x).save(buf, "JPEG", quality=params.JPEG_QUALITY[s - 1])
    return _from_pil(Image.open(buf), x.shape[2])


REFERENCE: dict[str, Callable[[np.ndarray, int, Rng], np.ndarray]] = {
    name: globals()[name] for name in params.NAMES
}


def corrupt_batch(x: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] → corrupted, one image at a time (HWC), clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    fn = REFERENCE[name]
    out = np.empty_like(x)
    for i, img in enumerate(x):
        out[i] = np.clip(fn(img.transpose(1, 2, 0), severity, rng), 0, 1).transpose(2, 0, 1)
    return out
