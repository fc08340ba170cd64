"""The static map's label placement: a label is drawn only where it overlaps no label, legend or inset already
placed, by matplotlib's own rule (Bbox.overlaps), now tested against all placed boxes at once."""
import numpy as np
from matplotlib.transforms import Bbox

from flows.render import maps


def test_a_label_box_overlaps_placed_boxes_exactly_when_bbox_overlaps_says_so():
    rng = np.random.default_rng(7)
    # small integer corners: many boxes share an edge or a corner (touching counts as overlapping), and
    # corners given in either order (a right-aligned text's extent is still ordered, a flipped one is not)
    start = rng.integers(0, 30, size=(400, 2))
    corners = np.hstack([start, start + rng.integers(-3, 4, size=(400, 2))]).astype(float)
    placed = [Bbox.from_extents(*c) for c in corners[:40]]
    boxes = np.array([maps._box(b) for b in placed])
    answers = set()
    for c in corners[40:]:
        label = Bbox.from_extents(*c)
        expected = any(label.overlaps(other) for other in placed)
        assert maps.overlaps_any(boxes, maps._box(label)) is expected, c
        answers.add(expected)
    assert answers == {True, False}


def test_touching_boxes_overlap_and_an_empty_placement_never_does():
    boxes = np.array([[0.0, 0.0, 10.0, 5.0]])
    assert maps.overlaps_any(boxes, (10.0, 5.0, 20.0, 9.0))           # corner to corner
    assert not maps.overlaps_any(boxes, (10.5, 0.0, 20.0, 5.0))
    assert not maps.overlaps_any(np.empty((0, 4)), (0.0, 0.0, 1.0, 1.0))
