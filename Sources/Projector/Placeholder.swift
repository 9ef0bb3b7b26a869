enum _PlaceholderProjector {}
