"""The flows, one module per flow, each the recipe as plain steps. A flow module declares itself to
the runner (`koppel.sync.runner.declare`); the engine imports every module of this package before it
launches (`koppel.sync.engine.FLOW_PACKAGES`), so `koppel sync FLOW` and the scheduler find flows by name."""
