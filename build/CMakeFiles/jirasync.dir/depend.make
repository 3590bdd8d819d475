# Empty dependencies file for jirasync.
# This may be replaced when dependencies are built.
