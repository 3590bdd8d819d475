
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/common/arena.c" "CMakeFiles/js_common.dir/common/arena.c.o" "gcc" "CMakeFiles/js_common.dir/common/arena.c.o.d"
  "/work/main/common/buf.c" "CMakeFiles/js_common.dir/common/buf.c.o" "gcc" "CMakeFiles/js_common.dir/common/buf.c.o.d"
  "/work/main/common/config.c" "CMakeFiles/js_common.dir/common/config.c.o" "gcc" "CMakeFiles/js_common.dir/common/config.c.o.d"
  "/work/main/common/conn.c" "CMakeFiles/js_common.dir/common/conn.c.o" "gcc" "CMakeFiles/js_common.dir/common/conn.c.o.d"
  "/work/main/common/log.c" "CMakeFiles/js_common.dir/common/log.c.o" "gcc" "CMakeFiles/js_common.dir/common/log.c.o.d"
  "/work/main/common/mem.c" "CMakeFiles/js_common.dir/common/mem.c.o" "gcc" "CMakeFiles/js_common.dir/common/mem.c.o.d"
  "/work/main/common/model.c" "CMakeFiles/js_common.dir/common/model.c.o" "gcc" "CMakeFiles/js_common.dir/common/model.c.o.d"
  "/work/main/common/timeutil.c" "CMakeFiles/js_common.dir/common/timeutil.c.o" "gcc" "CMakeFiles/js_common.dir/common/timeutil.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
