"""fleet_models: deterministic, vectorized generators of the synthetic world the stacks serve (units, vehicles,
orders). First stage of the pipeline: fleet_models -> profiles -> loadgen -> reports -> notebooks."""
