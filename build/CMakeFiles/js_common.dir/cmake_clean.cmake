file(REMOVE_RECURSE
  "CMakeFiles/js_common.dir/common/arena.c.o"
  "CMakeFiles/js_common.dir/common/arena.c.o.d"
  "CMakeFiles/js_common.dir/common/buf.c.o"
  "CMakeFiles/js_common.dir/common/buf.c.o.d"
  "CMakeFiles/js_common.dir/common/config.c.o"
  "CMakeFiles/js_common.dir/common/config.c.o.d"
  "CMakeFiles/js_common.dir/common/conn.c.o"
  "CMakeFiles/js_common.dir/common/conn.c.o.d"
  "CMakeFiles/js_common.dir/common/log.c.o"
  "CMakeFiles/js_common.dir/common/log.c.o.d"
  "CMakeFiles/js_common.dir/common/mem.c.o"
  "CMakeFiles/js_common.dir/common/mem.c.o.d"
  "CMakeFiles/js_common.dir/common/model.c.o"
  "CMakeFiles/js_common.dir/common/model.c.o.d"
  "CMakeFiles/js_common.dir/common/timeutil.c.o"
  "CMakeFiles/js_common.dir/common/timeutil.c.o.d"
  "libjs_common.a"
  "libjs_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/js_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
