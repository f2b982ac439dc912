"""Where a client group may sit: no cycles, a depth limit."""

import uuid

from contacts import domain


def test_a_group_cannot_go_inside_itself_or_below_itself_and_trees_stay_shallow():
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    parents = {a: None, b: a, c: b, d: None}
    assert domain.parent_problem(parents, a, a, 5) == "a group cannot be its own parent"
    assert "inside this one" in (domain.parent_problem(parents, a, c, 5) or "")
    assert domain.parent_problem(parents, d, c, 5) is None  # d goes to level 4
    assert "at most 3 levels" in (domain.parent_problem(parents, d, c, 3) or "")
    # A new group under c is level 4; a group with two levels of its own under b needs 4 too.
    assert domain.parent_problem(parents, None, c, 4) is None
    assert domain.parent_problem(parents, None, c, 3) is not None


def test_a_group_and_every_group_below_it():
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    children = domain.children_of({a: None, b: a, c: b, d: a})
    assert domain.group_and_descendants(children, a) == [a, b, d, c]
    assert domain.group_and_descendants(children, c) == [c]
    assert domain.levels_from(children, a) == 3
