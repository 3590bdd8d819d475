# Empty dependencies file for js_common.
# This may be replaced when dependencies are built.
