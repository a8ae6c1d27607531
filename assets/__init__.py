"""Software-defined assets, one folder per source with the same file names in each."""
