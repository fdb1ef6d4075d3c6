// qmail-routes: the administrators' tool (SPEC §11). Filled in by the
// qmail-routes issue; until then it says so.
#include <cstdio>

int main() {
  std::fputs("qmail-routes: not built yet\n", stderr);
  return 2;
}
