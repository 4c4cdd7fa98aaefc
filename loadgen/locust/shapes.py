"""The locustfile of loadgen's LoadTestShapes: `locust -f loadgen/locust/locustfile.py,loadgen/locust/shapes.py`.

Where it sits: loadgen.locust.profile_shapes (one shape per stack and env, from the profiles' stages) -> Locust.
With `--class-picker` the web UI lists every shape; LOADGEN_SHAPE=<ShapeName>[,<ShapeName>...] keeps only those:
one (e.g. FoodDeliveryDevShape) is the shape Locust then runs, which is how `loadgen locust --shape` selects its
stack and env's shape on the command line; `loadgen locust -- --class-picker` lists its stack's shapes.
"""

import os

from loadgen.locust.profile_shapes import profile_shapes

_chosen = {name for name in os.environ.get("LOADGEN_SHAPE", "").split(",") if name}
globals().update({name: shape for name, shape in profile_shapes().items() if not _chosen or name in _chosen})
