"""Helpers of the fuzz tests: classify each example's outcome and check for leftover files.

Every fuzz example goes through :func:`outcome`, which runs the call, checks
that it either succeeded (where success is allowed) or raised one of the
expected exception types with a message holding the expected fragments, and
that the watched folder holds the same files before and after. Each outcome
is recorded twice: as a Hypothesis event (shown by
``--hypothesis-show-statistics``) and in :data:`COUNTS`, which
``tests/fuzz/conftest.py`` prints as one table at the end of the run.
"""

import collections
import os

from hypothesis import event as _hypothesis_event
from hypothesis.errors import InvalidArgument

#: test id -> counts of examples, clear errors, allowed successes, unclear outcomes and leftovers.
COUNTS = collections.defaultdict(collections.Counter)


def event(text):
    """Records a Hypothesis event when inside a Hypothesis test (plain tests only count)."""
    try:
        _hypothesis_event(text)
    except InvalidArgument:
        pass


def current_test():
    """The running test's name and parameters (from ``PYTEST_CURRENT_TEST``, without the phase)."""
    name = os.environ.get("PYTEST_CURRENT_TEST", "unknown (call)").rsplit(" (", 1)[0]
    return name.split("::", 1)[-1]


def listing(folder):
    """Every path under ``folder`` (relative, sorted), hidden files included; [] if it does not exist."""
    if folder is None or not os.path.isdir(folder):
        return []
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def outcome(call, *, errors, contains=(), allow_success=False, watch=None, check_result=None):
    """Runs ``call`` and asserts that it ends in a clear error (or an allowed success).

    Args:
        call: a function without arguments.
        errors: exception type or tuple of types that count as the clear error.
        contains: fragments the message must contain (all of them); a
            fragment may be a tuple of alternatives (any one suffices).
        allow_success: a normal return is allowed too.
        watch: a folder (or list of folders) whose listing must be the same
            before and after the call.
        check_result: called with the result of a successful call (asserts).

    Returns:
        The exception raised, or the result of a successful call.

    Raises:
        AssertionError: any other exception, a message lacking a fragment, an
            unexpected success or leftover files.
    """
    counts = COUNTS[current_test()]
    counts["examples"] += 1
    folders = [] if watch is None else ([watch] if isinstance(watch, (str, os.PathLike)) else list(watch))
    before = [listing(f) for f in folders]
    try:
        try:
            result = call()
        except errors as err:
            message = str(err)
            missing = [c for c in contains
                       if not any(alt in message for alt in (c if isinstance(c, tuple) else (c,)))]
            if missing:
                counts["unclear"] += 1
                event(f"unclear message ({type(err).__name__})")
                raise AssertionError(f"{type(err).__name__} message lacks {missing!r}: {message}") from err
            if "Traceback" in message:
                counts["unclear"] += 1
                raise AssertionError(f"the message holds a traceback: {message}") from err
            counts["clear error"] += 1
            event(f"clear error: {type(err).__name__}")
            return err
        except AssertionError:
            raise
        except Exception as err:  # noqa: BLE001 - every other outcome is what the fuzzing looks for
            counts["unclear"] += 1
            event(f"unclear: {type(err).__name__}")
            raise AssertionError(f"expected {errors}, got {type(err).__name__}: {err}") from err
        if not allow_success:
            counts["unclear"] += 1
            event("no error")
            raise AssertionError(f"expected {errors}, but the call returned {result!r:.200}")
        if check_result is not None:
            check_result(result)
        counts["success"] += 1
        event("success (allowed)")
        return result
    finally:
        after = [listing(f) for f in folders]
        if after != before:
            counts["leftover"] += 1
            event("leftover files")
            changed = [(f, sorted(set(a) ^ set(b))) for f, a, b in zip(folders, after, before) if a != b]
            raise AssertionError(f"files changed: {changed}")
