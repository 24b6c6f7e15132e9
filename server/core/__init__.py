"""What every area shares: errors, the clock, ids and database types."""
