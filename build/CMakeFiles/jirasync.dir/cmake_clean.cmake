file(REMOVE_RECURSE
  "CMakeFiles/jirasync.dir/cli/main.c.o"
  "CMakeFiles/jirasync.dir/cli/main.c.o.d"
  "jirasync"
  "jirasync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/jirasync.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
