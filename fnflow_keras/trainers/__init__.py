"""The training side of models: compile/fit/evaluate/predict, data adapters, compile losses/metrics, progbar."""
