// qmail-routes: the administrators' tool (SPEC §11). An interactive program:
// unlike qmail-remote it prints to stdout and stderr normally.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "lib/admin/commands.h"
#include "lib/control/control_file.h"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    qr::Output o = qr::run_command(args, qr::control_dir());
    std::fputs(o.out.c_str(), stdout);
    std::fputs(o.err.c_str(), stderr);
    return o.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qmail-routes: %s\n", e.what());
    return 1;
  }
}
