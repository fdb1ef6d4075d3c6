// qmail-routes' commands (SPEC §11) as a function of argv, so the unit tests
// run exactly what the binary runs. main() only prints the Output.
#pragma once

#include <string>
#include <vector>

#include "lib/admin/text_file.h"

namespace qr {

struct Output {
  int code = 0;  // 0 ok; 1 a problem found or an edit refused/failed; 2 bad usage
  std::string out, err;
};

// `args` excludes the program name. `dir` is the control directory
// (control_dir() in main); edits are written through `write`.
Output run_command(const std::vector<std::string>& args, const std::string& dir,
                   const FileWriter& write = write_atomic);

}  // namespace qr
