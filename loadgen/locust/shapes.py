"""The locustfile of loadgen's LoadTestShapes: `locust -f loadgen/locust/locustfile.py,loadgen/locust/shapes.py`.

Where it sits: loadgen.locust.profile_shapes (one shape per stack and env, from the profiles' stages) -> Locust.
With `--class-picker` the web UI lists every shape; LOADGEN_SHAPE=<ShapeName> (e.g. FoodDeliveryDevShape) keeps
only that one, which Locust then runs: how `loadgen locust --shape` selects its stack and env's shape on the
command line.
"""

import os

from loadgen.locust.profile_shapes import profile_shapes

_chosen = os.environ.get("LOADGEN_SHAPE")
globals().update({name: shape for name, shape in profile_shapes().items() if _chosen in (None, name)})
