"""Image grids and PNG files (numpy and Pillow only)."""

import math
import os
import tempfile
from pathlib import Path

import numpy as np


def make_grid(images, ncols=None, padding=2, pad_value=1.0):
    """Tiles a batch of images into one image.

    Args:
        images: float array (N, H, W, C) with values in [0, 1] (C = 1 or 3),
            or (N, H, W).
        ncols: images per row (default: the smallest square that fits).
        padding: pixels between tiles.
        pad_value: value of the padding pixels.

    Returns:
        float32 array (rows*(H+p)-p, ncols*(W+p)-p, C) in [0, 1].

    Raises:
        ValueError: empty batch or an unsupported shape.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, 1 or 3) with N >= 1, got {images.shape}.")
    n, h, w, c = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * (h + padding) - padding, ncols * (w + padding) - padding, c), pad_value, np.float32)
    for i, image in enumerate(np.clip(images, 0.0, 1.0)):
        r, col = divmod(i, ncols)
        grid[r * (h + padding) : r * (h + padding) + h, col * (w + padding) : col * (w + padding) + w] = image
    return grid


def current_umask():
    """The process umask, read without changing it."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write, suffix=""):
    """Writes a file through a temporary file in its folder, renamed into place.

    A failure in ``write`` (or an interruption) leaves no file behind and
    keeps an existing one unchanged; the file gets the usual permissions
    (0666 minus the umask).

    Args:
        path: the file to write.
        write: ``write(tmp_path)`` writes the whole content to ``tmp_path``.
        suffix: the temporary file's suffix (writers that infer the format
            from the name need it, e.g. ``".png"``).

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(suffix=suffix, prefix=f".{path.name}-", dir=path.parent)
    os.close(handle)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_png(images, path, ncols=None, scale=1):
    """Writes a batch of images as one PNG grid, atomically.

    Args:
        images: float array (N, H, W, C) in [0, 1].
        path: output file; its folder is created if needed.
        ncols: images per row.
        scale: integer upscaling factor (nearest neighbour) for small images.

    Returns:
        The ``pathlib.Path`` written.

    Raises:
        ValueError: ``path`` does not end in .png, or bad images.
    """
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"output file must end in .png, got {str(path)!r}.")
    grid = make_grid(images, ncols=ncols)
    pixels = np.round(grid * 255.0).astype(np.uint8)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, image.save, suffix=".png")
