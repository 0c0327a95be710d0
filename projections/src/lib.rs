//! Vigie's read models: built from the event log, checkpointed, rebuildable.
