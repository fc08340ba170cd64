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


def test_crowded_labels_are_placed_clear_of_each_other_with_one_annotation_per_label_drawn(tmp_path, monkeypatch):
    """Clusters too close for every name: each drawn label overlaps none drawn before it, and the tries of the
    names left out reuse one annotation instead of making one per try."""
    import datetime as dt

    import matplotlib.text

    from flows.render import report

    made = []
    own_init = matplotlib.text.Annotation.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        own_init(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.text.Annotation, "__init__", counted)
    drawn = {}
    own_image = report.chart_image

    def kept(fig, tight=True):
        renderer = fig.canvas.get_renderer()
        drawn["boxes"] = [maps._box(t.get_window_extent(renderer)) for t in fig.axes[0].texts
                          if isinstance(t, matplotlib.text.Annotation)]
        return own_image(fig, tight)

    monkeypatch.setattr(report, "chart_image", kept)
    rows = [{"cluster_id": f"C{k}", "cluster_name": f"集群{k}号产业集群", "lon": 114.0 + 0.15 * (k % 6),
             "lat": 30.0 + 0.15 * (k // 6), "output_ttm": 1e6 * (k + 1), "output_ttm_suppressed": False,
             "local_supporting_rate": 0.45, "local_supporting_rate_suppressed": False,
             "local_supporting_rate_class": "40～50%"} for k in range(36)]
    maps.write_png(rows, tmp_path / "map.png", dt.date(2025, 12, 1), "local_supporting_rate", {"version": 1},
                   width_in=7.0, min_pt=8.5)
    boxes = drawn["boxes"]
    assert 0 < len(boxes) < len(rows)      # crowded: some names are left out
    assert all(not maps.overlaps_any(np.array(boxes[:k]).reshape(-1, 4), box) for k, box in enumerate(boxes))
    assert len(made) <= len(boxes) + 1
