// The one source of random choices (round robin, equal MX preferences), so
// tests can fix the seed. Its own header: dns/ shuffles MX hosts and must
// not depend on route/ (issue 13: layers point one way).
#pragma once

#include <random>

namespace qr {

using Rng = std::mt19937_64;
Rng make_rng();  // seeded from the OS

}  // namespace qr
