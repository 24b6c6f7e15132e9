"""Department staff in grids (驻格 / 巡格): postings, check-ins, patrol tracks, compliance."""
