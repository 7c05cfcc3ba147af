"""The shared argument checks: accepted values come back normalized, rejected ones name the value."""

import numpy as np
import pytest

from kzoo.core.validation import (check_bool, check_choice, check_non_negative_int, check_positive_int,
                                  check_positive_number)


@pytest.mark.parametrize("check, good, expected", [
    (check_positive_int, np.int64(3), 3), (check_non_negative_int, 0, 0),
    (check_positive_number, 2, 2.0), (check_positive_number, np.float32(0.5), 0.5),
    (check_bool, np.bool_(True), True), (check_bool, False, False),
])
def test_accepted_values_are_returned_as_python_types(check, good, expected):
    result = check(good, "x")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("check, bad, message", [
    (check_positive_int, 0, "x must be a positive integer, got 0"),
    (check_positive_int, 2.0, "got 2.0"), (check_positive_int, True, "got True"),
    (check_non_negative_int, -1, "x must be a non-negative integer, got -1"),
    (check_positive_number, 0.0, "x must be a positive number, got 0.0"),
    (check_positive_number, float("nan"), "got nan"), (check_positive_number, "1", "got '1'"),
    (check_positive_number, True, "got True"),
    (check_bool, 1, "x must be True or False, got 1"), (check_bool, "yes", "got 'yes'"),
])
def test_rejected_values_are_named_in_the_error(check, bad, message):
    with pytest.raises(ValueError, match=message):
        check(bad, "x")


def test_choice_lists_the_options():
    assert check_choice("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="mode must be one of 'a', 'b', got 'c'"):
        check_choice("c", "mode", ("a", "b"))
