#include "lib/rng.h"

namespace qr {

Rng make_rng() {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd()};
  return Rng(seq);
}

}  // namespace qr
