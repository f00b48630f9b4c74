"""Reader, writer, synthetic archive, features and scan of ACO hydrophone data."""
