//! Every figure recomputed from the tickets and their events, the slow way.
