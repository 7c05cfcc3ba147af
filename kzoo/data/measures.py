"""Attributes of handwritten digits measured from the pixels: stroke thickness, slant, ink.

Images are in ``[0, 1]``, ink bright on a dark background, as MNIST.

``thickness`` (:func:`stroke_thickness`)
    Ink mass divided by stroke length, in pixels: a stroke of width ``w``
    and length ``L`` holds about ``w L`` ink and thins to a skeleton of
    length about ``L``. The skeleton is the Zhang-Suen thinning of the image
    binarized at ``threshold``, measured along its links (diagonal links
    count sqrt 2) and corrected for the half width thinning removes at each
    free end, so straight bars of any length and angle read their width.
``slant`` (:func:`slant`)
    The shear that second image moments give, ``-mu_11 / mu_02`` with
    pixel-intensity weights, ``x`` the column and ``y`` the row (downwards):
    the horizontal displacement per unit of height of the principal axis.
    Positive when the top of the digit leans to the right; ``0`` for a
    digit symmetric about a vertical axis; ``degrees(arctan(slant))`` is
    the lean angle. The usual MNIST deskewing undoes exactly this shear.
``ink`` (:func:`ink_mass`)
    Total intensity (the number of fully lit pixels it amounts to).

References:
    Zhang and Suen, "A Fast Parallel Algorithm for Thinning Digital
    Patterns", Communications of the ACM 27(3), 1984 (the skeleton).
"""

import numpy as np

__all__ = ["ATTRIBUTES", "attribute_scores", "ink_mass", "skeleton_length", "skeletonize", "slant",
           "stroke_thickness"]


def _gray_images(images, name="images"):
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        if x.shape[-1] != 1:
            raise ValueError(f"{name} must be grayscale (N, H, W, 1) or (N, H, W); got shape {x.shape}.")
        x = x[..., 0]
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, H, W, 1) or (N, H, W) with N >= 1; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contain NaN or infinite values.")
    if x.min() < -1e-3 or x.max() > 1.0 + 1e-3:
        raise ValueError(f"{name} values span [{x.min():.4g}, {x.max():.4g}]; expected images in [0, 1].")
    return np.clip(x, 0.0, 1.0)


def _neighbours(padded):
    """The 8 neighbours P2..P9 (N, NE, E, SE, S, SW, W, NW) of every pixel of a padded batch."""
    return [
        padded[:, :-2, 1:-1], padded[:, :-2, 2:], padded[:, 1:-1, 2:], padded[:, 2:, 2:],
        padded[:, 2:, 1:-1], padded[:, 2:, :-2], padded[:, 1:-1, :-2], padded[:, :-2, :-2],
    ]


def skeletonize(binary, max_iterations=100):
    """Zhang-Suen thinning of a batch of binary images.

    Removes boundary pixels in two alternating sub-iterations until none
    can be removed without breaking connectivity or shortening a stroke's
    end, leaving a skeleton about one pixel wide.

    Args:
        binary: bool (or 0/1) array ``(N, H, W)``.
        max_iterations: upper bound on the number of passes.

    Returns:
        bool array ``(N, H, W)``, a subset of ``binary``.

    Raises:
        ValueError: the array is not 3-D, or a bad ``max_iterations``.
    """
    image = np.asarray(binary).astype(bool)
    if image.ndim != 3:
        raise ValueError(f"binary must have shape (N, H, W), got {image.shape}.")
    image = image.copy()
    if isinstance(max_iterations, (bool, np.bool_)) or not isinstance(max_iterations, (int, np.integer)) or \
            max_iterations < 1:
        raise ValueError(f"max_iterations must be a positive integer, got {max_iterations!r}.")
    for _ in range(max_iterations):
        changed = False
        for first in (True, False):
            padded = np.pad(image, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)
            p = _neighbours(padded)
            count = sum(p)
            ring = p + [p[0]]
            transitions = sum(((ring[k] == 0) & (ring[k + 1] == 1)).astype(np.uint8) for k in range(8))
            north, east, south, west = p[0], p[2], p[4], p[6]
            if first:
                keep_a, keep_b = north * east * south, east * south * west
            else:
                keep_a, keep_b = north * east * west, north * south * west
            remove = image & (count >= 2) & (count <= 6) & (transitions == 1) & (keep_a == 0) & (keep_b == 0)
            if remove.any():
                image &= ~remove
                changed = True
        if not changed:
            break
    return _remove_corners(image)


def _remove_corners(image):
    """Deletes staircase corners that Zhang-Suen thinning leaves in diagonal strokes.

    A corner pixel has two perpendicular horizontal/vertical neighbours
    (e.g. east and south) that touch diagonally without it. It is removed
    when it is a simple point (Yokoi's 8-connectivity number is 1, so the
    removal keeps every 8-connected component and hole) and not an end
    point. One corner orientation is handled per pass, so two neighbouring
    corners never go together.
    """
    for first, second in ((2, 4), (4, 6), (6, 0), (0, 2)):  # (E, S), (S, W), (W, N), (N, E)
        padded = np.pad(image, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)
        p = _neighbours(padded)  # N, NE, E, SE, S, SW, W, NW
        # Yokoi's 8-connectivity number over the 4-neighbours N, W, S, E and the corners between them.
        off = [1 - q for q in p]
        yokoi = sum(off[k] - off[k] * off[(k + 1) % 8] * off[(k + 2) % 8] for k in (0, 2, 4, 6))
        between = (first + 1) % 8 if (first + 2) % 8 == second else (second + 1) % 8
        corner = (p[first] == 1) & (p[second] == 1) & (p[between] == 0)
        image = image & ~(corner & (yokoi == 1) & (sum(p) >= 2))
    return image


def ink_mass(images):
    """Total intensity of each image (in units of fully lit pixels).

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``.

    Returns:
        float array ``(N,)``.

    Raises:
        ValueError: wrong shape, NaN or values outside ``[0, 1]``.
    """
    return _gray_images(images).sum(axis=(1, 2))


def skeleton_length(skeleton):
    """Length in pixels and number of end points of one-pixel-wide skeletons.

    Neighbouring skeleton pixels are joined by links of length 1
    (horizontal or vertical neighbours) or sqrt 2 (diagonal neighbours that
    no horizontal-vertical pair of links already joins), so a straight
    staircase is measured along its direction. An end point is a pixel with
    exactly one neighbour; an isolated pixel counts as two end points.

    Args:
        skeleton: bool array ``(N, H, W)``.

    Returns:
        ``(length, ends)``: float array ``(N,)`` (sum of link lengths) and
        int array ``(N,)``.

    Raises:
        ValueError: the array is not 3-D.
    """
    sk = np.asarray(skeleton).astype(bool)
    if sk.ndim != 3:
        raise ValueError(f"skeleton must have shape (N, H, W), got {sk.shape}.")
    straight = (sk[:, :, :-1] & sk[:, :, 1:]).sum(axis=(1, 2)) + (sk[:, :-1, :] & sk[:, 1:, :]).sum(axis=(1, 2))
    down_right = sk[:, :-1, :-1] & sk[:, 1:, 1:] & ~(sk[:, :-1, 1:] | sk[:, 1:, :-1])
    down_left = sk[:, :-1, 1:] & sk[:, 1:, :-1] & ~(sk[:, :-1, :-1] | sk[:, 1:, 1:])
    diagonal = down_right.sum(axis=(1, 2)) + down_left.sum(axis=(1, 2))
    count = sum(_neighbours(np.pad(sk, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)))
    ends = (sk & (count == 1)).sum(axis=(1, 2)) + 2 * (sk & (count == 0)).sum(axis=(1, 2))
    return straight + np.sqrt(2.0) * diagonal, ends.astype(np.int64)


def stroke_thickness(images, threshold=0.5):
    """Mean stroke width in pixels: ink mass / stroke length.

    The stroke length is the length of the Zhang-Suen skeleton of the image
    binarized at ``threshold`` (:func:`skeletonize`,
    :func:`skeleton_length`), corrected for the ends: thinning eats about
    half a stroke width ``t`` at each of the ``e`` free ends, so the stroke
    length is ``L + e t / 2`` and ``t`` solves ``t (L + e t / 2) = M`` with
    ``M`` the ink mass. A straight bar of width ``w`` gives ``t = w``
    whatever its length and angle; a blob of area ``M`` (a one-pixel
    skeleton) gives ``sqrt(M)``.

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``
            (bright strokes on a dark background).
        threshold: binarization level for the skeleton, in ``(0, 1)``.

    Returns:
        float array ``(N,)``; 0 for an image with no pixel above
        ``threshold``.

    Raises:
        ValueError: bad images or threshold.
    """
    x = _gray_images(images)
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}.")
    skeleton = skeletonize(x > threshold)
    length, ends = skeleton_length(skeleton)
    mass = x.sum(axis=(1, 2))
    half_ends = ends / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        with_ends = (np.sqrt(length**2 + 4.0 * half_ends * mass) - length) / (2.0 * half_ends)
        closed = mass / length
    thickness = np.where(ends > 0, with_ends, closed)
    return np.where(skeleton.any(axis=(1, 2)), thickness, 0.0)


def slant(images):
    """Shear of each image from its second moments, ``-mu_11 / mu_02``.

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``.

    Returns:
        float array ``(N,)``: horizontal shift per unit of height, positive
        when the top leans right; 0 for a blank image or a single row.

    Raises:
        ValueError: bad images.
    """
    x = _gray_images(images)
    _, height, width = x.shape
    rows = np.arange(height, dtype=np.float64)[None, :, None]
    cols = np.arange(width, dtype=np.float64)[None, None, :]
    mass = x.sum(axis=(1, 2))
    safe = np.maximum(mass, 1e-12)
    row_mean = (x * rows).sum(axis=(1, 2)) / safe
    col_mean = (x * cols).sum(axis=(1, 2)) / safe
    dr = rows - row_mean[:, None, None]
    dc = cols - col_mean[:, None, None]
    mu11 = (x * dr * dc).sum(axis=(1, 2)) / safe
    mu02 = (x * dr * dr).sum(axis=(1, 2)) / safe
    return np.where((mass > 0) & (mu02 > 1e-12), -mu11 / np.maximum(mu02, 1e-12), 0.0)


#: Attribute name -> function of a batch of images returning ``(N,)`` scores.
ATTRIBUTES = {"thickness": stroke_thickness, "slant": slant, "ink": ink_mass}


def attribute_scores(images, attributes=("thickness", "slant")):
    """Scores images on named attributes.

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``.
        attributes: names from :data:`ATTRIBUTES` (``"thickness"``,
            ``"slant"``, ``"ink"``).

    Returns:
        dict name -> float array ``(N,)``.

    Raises:
        ValueError: an unknown attribute name or bad images.
    """
    if isinstance(attributes, str):
        attributes = (attributes,)
    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown or not attributes:
        raise ValueError(f"Unknown attributes {unknown or list(attributes)}; known: {', '.join(ATTRIBUTES)}.")
    return {name: ATTRIBUTES[name](images) for name in attributes}


# ----------------------------------------------------------------- latents
