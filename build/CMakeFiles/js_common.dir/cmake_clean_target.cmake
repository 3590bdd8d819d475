file(REMOVE_RECURSE
  "libjs_common.a"
)
