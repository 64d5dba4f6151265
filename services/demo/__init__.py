"""The synthetic demo practice that ``bin/run`` loads on first start."""
