// Placeholder until the delivery main lands (written next).
#include "lib/report.h"
int main() {
  qr::Report r;
  r.message('Z', "qmail-remote is being built. (#4.3.0)\n");
  return 0;
}
