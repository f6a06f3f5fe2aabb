"""Severity constants of the 15 CIFAR-10-C corruptions (Hendrycks & Dietterich, ICLR 2019).

The numbers are those of the official ``make_cifar_c.py`` (hendrycks/robustness,
ImageNet-C/create_c), one tuple entry per severity 1..5. CIFAR-10-C is cited by seed 003 §4.4.
Constants that the official script gives in pixels of a 32×32 image are kept in pixels (blur
radii, swap distance, motion-blur lengths); those it derives from the image size (elastic
transform, pixelate, zoom, fog's fractal) are applied relative to the actual size.
"""

from __future__ import annotations

# (family, names) in the official order: noise, blur, weather, digital
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("noise", ("gaussian_noise", "shot_noise", "impulse_noise")),
    ("blur", ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur")),
    ("weather", ("snow", "frost", "fog")),
    ("digital", ("brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression")),
)
NAMES: tuple[str, ...] = tuple(name for _, names in FAMILIES for name in names)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

GAUSSIAN_NOISE = (0.04, 0.06, 0.08, 0.09, 0.10)  # std of N(0, σ²) added to x
SHOT_NOISE = (500, 250, 100, 75, 50)  # Poisson rate scale: Poisson(x·λ)/λ
IMPULSE_NOISE = (0.01, 0.02, 0.03, 0.05, 0.07)  # fraction of values set to 0 or 1

DEFOCUS_BLUR = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1))  # (disk radius, alias σ)
GLASS_BLUR = (  # (σ, max swap distance, iterations)
    (0.05, 1, 1),
    (0.25, 1, 1),
    (0.4, 1, 1),
    (0.25, 1, 2),
    (0.4, 1, 2),
)
MOTION_BLUR = ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5))  # ImageMagick (radius, σ)
# np.arange(1, stop, 0.01) for stop 1.06, 1.11, 1.16, 1.21, 1.26 has 7, 12, 16, 21, 26 entries
# (rounding lets the first two include their stop); factor k is 1 + k·((1 + 0.01) − 1) as there.
ZOOM_BLUR_COUNTS = (7, 12, 16, 21, 26)

SNOW = (  # (mean, std, zoom, threshold, blur radius, blur σ, blend)
    (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
    (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
)
FROST = ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))  # (image weight, frost weight)
FOG = ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75))  # (fog strength, wibble decay)

BRIGHTNESS = (0.05, 0.1, 0.15, 0.2, 0.3)  # added to HSV value
CONTRAST = (0.75, 0.5, 0.4, 0.3, 0.15)  # factor towards each channel's mean
ELASTIC = (  # (alpha, σ, affine jitter) as fractions of the image side (IMSIZE · 0.08 etc.)
    (0.0, 0.0, 0.08),
    (0.05, 0.2, 0.07),
    (0.08, 0.06, 0.06),
    (0.1, 0.04, 0.05),
    (0.1, 0.03, 0.03),
)
PIXELATE = (0.95, 0.9, 0.85, 0.75, 0.65)  # side fraction of the box-downsampled image
JPEG_QUALITY = (80, 65, 58, 50, 40)
