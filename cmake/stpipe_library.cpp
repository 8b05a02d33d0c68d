// Anchor source of libstpipe.so (its content comes from the area libraries).
